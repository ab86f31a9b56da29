"""``livekit.agents.utils.images`` names: encoding video frames as JPEG or PNG
(``vagent.llm``'s image encoder, loaded on first use; it needs ``vagent[images]``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vagent._core.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from vagent.llm._images import (
        EncodeOptions as EncodeOptions,
        ResizeOptions as ResizeOptions,
        encode as encode,
    )

_EXPORTS = {
    "EncodeOptions": "vagent.llm._images",
    "ResizeOptions": "vagent.llm._images",
    "encode": "vagent.llm._images",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = ["EncodeOptions", "ResizeOptions", "encode"]
