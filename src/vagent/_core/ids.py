"""Short random identifiers (``shortuuid("AJ_")`` -> ``"AJ_3kTMd9fQx2Lp"``)."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


def shortuuid(prefix: str = "", *, length: int = 12) -> str:
    """A random id of ``length`` base-62 characters after ``prefix`` (about 71 bits for 12)."""
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))
