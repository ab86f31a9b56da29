"""Emoji removal, incrementally: :class:`EmojiFilter`.

Removed: pictographs and emoticons, dingbats and miscellaneous symbols (the blocks emoji live
in), regional-indicator flags, skin-tone modifiers, variation selectors, keycap marks and tag
sequences, and a zero-width joiner next to any of them (an emoji sequence such as a family).
A joiner between ordinary letters is kept: some scripts need it for shaping.
"""

from __future__ import annotations

import re

_ZWJ = "\u200d"
_EMOJI_RANGES = (
    "\U0001f000-\U0001fbff"  # tiles, cards, enclosed letters and flags, pictographs, emoticons
    "\u2600-\u27bf"  # miscellaneous symbols, dingbats
    "\u2b00-\u2bff"  # miscellaneous symbols and arrows (stars, squares)
    "\u231a\u231b\u23e9-\u23f3\u23f8-\u23fa"  # watch, hourglass, media controls
    "\ufe0e\ufe0f"  # variation selectors (text / emoji presentation)
    "\u20e3"  # combining keycap
    "\U000e0020-\U000e007f"  # tag characters (subdivision flags)
)
_EMOJI = re.compile(f"[{_EMOJI_RANGES}]")
_EMOJI_OR_ZWJ = re.compile(f"[{_EMOJI_RANGES}{_ZWJ}]")


class EmojiFilter:
    """Removes emoji from streamed text; :meth:`push` returns what is certain.

    The only text ever held back is a trailing zero-width joiner, until the next character
    tells whether it joins emoji (dropped) or letters (kept).
    """

    def __init__(self) -> None:
        self._after_emoji = False
        self._joiner_held = False

    def push(self, text: str) -> str:
        """Add ``text``; return it without emoji."""
        if not self._joiner_held and not _EMOJI_OR_ZWJ.search(text):
            if text:
                self._after_emoji = False
            return text
        out: list[str] = []
        for char in text:
            if _EMOJI.match(char):
                self._joiner_held = False
                self._after_emoji = True
            elif char == _ZWJ:
                if not self._after_emoji:
                    self._joiner_held = True
            else:
                if self._joiner_held:
                    out.append(_ZWJ)
                    self._joiner_held = False
                self._after_emoji = False
                out.append(char)
        return "".join(out)

    def flush(self) -> str:
        """End of the text: a joiner still held is kept."""
        held = _ZWJ if self._joiner_held else ""
        self._joiner_held = False
        self._after_emoji = False
        return held


def strip_emoji(text: str) -> str:
    """``text`` without emoji (the same result as :class:`EmojiFilter` gives)."""
    emoji = EmojiFilter()
    return emoji.push(text) + emoji.flush()
