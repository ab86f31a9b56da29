"""ModelSettings: per-request settings handed to the overridable pipeline nodes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from attrs import frozen

from vagent._core import NOT_GIVEN, NotGivenOr

if TYPE_CHECKING:
    from vagent.llm import ToolChoice


@frozen(kw_only=True)
class ModelSettings:
    """Settings of one LLM request; ``tool_choice`` as given to ``generate_reply``."""

    tool_choice: NotGivenOr[ToolChoice] = NOT_GIVEN
