"""Markdown to plain speakable text, incrementally: :class:`MarkdownFilter`.

What is removed (the words themselves are kept):

- at the start of a line: heading marks (``## ``), list bullets (``- ``, ``* ``, ``+ ``) and
  quote marks (``> ``); a line that is only a horizontal rule (``---``, ``* * *``) vanishes;
- inline: links and images keep their text (``[the link](url)`` -> ``the link``), emphasis
  keeps its words (``**Sure!**`` -> ``Sure!``; ``snake_case`` and ``2 * 3 * 4`` are left
  alone), inline code keeps its text, code fences (```` ```python ````) go, and
  strikethrough (``~~old~~``) is dropped with its words, since it is not meant to be read.

Constructs never span lines. The filter is *split invariant*: whatever way a text is cut
into pieces, pushing the pieces and flushing gives exactly the output of pushing the whole
text at once. It emits a piece of a line as soon as the piece ends at a word or punctuation
boundary and leaves no construct open (an emphasis run, a ``[`` or ``(`` of a link, a
backtick, a ``~~``) that later text could close; until then it holds the text back.
"""

from __future__ import annotations

import re

# Scripts written without spaces between words: an emphasis mark flush against one of these
# letters still counts as a word boundary (``这是**重要**的``).
_UNSPACED = (
    "\u0e00-\u0e7f"  # Thai
    "\u1100-\u11ff"  # Hangul Jamo
    "\u3040-\u30ff"  # Hiragana, Katakana
    "\u3130-\u318f"  # Hangul compatibility Jamo
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\uac00-\ud7af"  # Hangul syllables
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\uff66-\uff9d"  # halfwidth Katakana
)
_WORD = f"[^\\W{_UNSPACED}]"  # a letter that makes ``*`` intra-word (``2*3``, ``a*b``)

# A piece may end right after one of these (the boundary stays with the piece). Not after
# ``!``: it may begin an image (``![alt](url)``).
BOUNDARIES = frozenset(" \t,.;:?\uff0c\u3002\uff1f\uff01\uff1b\uff1a")

# -- line starts ------------------------------------------------------------------------------

_QUOTE = re.compile(r"^[ \t]*>[ \t]*")
_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+")
_BULLET = re.compile(r"^[ \t]*[-+*][ \t]+")
_RULE = re.compile(r"^[ \t]{0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
# Characters a line start may consist of before its marks are known: until the line has a
# character outside this set, ``-`` may still become a bullet, ``---`` a rule, and so on.
_MARK_CHARS = frozenset("#>-+*_ \t")

# -- inline constructs, applied in this order -------------------------------------------------

_ASTERISKS = re.compile(
    rf"(?<!{_WORD})(?<!\*)(\*{{1,3}})(?=[^\s*])([^*\n]+?)(?<=\S)\1(?!{_WORD})(?!\*)"
)
_UNDERSCORES = re.compile(r"(?<!\w)(_{1,3})(?=[^\s_])([^_\n]+?)(?<=\S)\1(?!\w)")
_PATTERNS: list[tuple[re.Pattern[str], str, re.Pattern[str] | None]] = [
    # (pattern, replacement, what an unmatched opener left after this pass looks like)
    (
        re.compile(r"!?\[([^\]\n]*)\]\([^)\n]*\)"),
        r"\1",
        re.compile(r"\[[^\]\n]*(?:\](?:\([^)\n]*)?)?$"),
    ),
    (_ASTERISKS, r"\2", re.compile(rf"(?<!{_WORD})(?<!\*)\*{{1,3}}(?=[^\s*])")),
    (_UNDERSCORES, r"\2", re.compile(r"(?<!\w)_{1,3}(?=[^\s_])")),
    # a second asterisk pass unwraps ``_**both**_`` as well as ``**_both_**``
    (_ASTERISKS, r"\2", re.compile(rf"(?<!{_WORD})(?<!\*)\*{{1,3}}(?=[^\s*])")),
    (re.compile(r"`{3,}[\w+#-]*"), "", None),
    (re.compile(r"`([^`\n]+)`"), r"\1", re.compile(r"`")),
    (re.compile(r"~~(?=\S)[^~\n]*?(?<=\S)~~"), "", re.compile(r"~~")),
]
_INLINE_MARKS = re.compile(r"[*_`~\[]")


def _strip_line_start(text: str) -> str:
    text = _QUOTE.sub("", text, count=1)
    text = _HEADING.sub("", text, count=1)
    return _BULLET.sub("", text, count=1)


def _strip_inline(text: str) -> tuple[str, bool]:
    """``text`` without inline markup, and whether a construct was left open."""
    if not _INLINE_MARKS.search(text):
        return text, False
    pending = False
    for pattern, replacement, opener in _PATTERNS:
        text = pattern.sub(replacement, text)
        if opener is not None and opener.search(text):
            pending = True
    return text, pending


def _line_start_known(text: str) -> bool:
    return any(char not in _MARK_CHARS for char in text)


class MarkdownFilter:
    """Strips markdown from streamed text (see the module docstring for what goes).

    :meth:`push` takes the next piece and returns the plain text that is now certain (often
    ``""`` while a construct is open); :meth:`flush` ends the text and returns the rest.
    Held-back text is at most the current line.
    """

    # Only the last few boundaries are tried as cut points, which bounds the work per push
    # on a long line that stays open; an earlier cut would only have emitted sooner.
    _MAX_CUTS_TRIED = 8

    def __init__(self) -> None:
        self._held = ""
        self._at_line_start = True

    def push(self, text: str) -> str:
        """Add ``text``; return the plain text that no later input can change."""
        self._held += text
        out: list[str] = []
        if "\n" in self._held:
            *lines, self._held = self._held.split("\n")
            for line in lines:
                out.append(self._complete(line) + "\n")
                self._at_line_start = True
        out.append(self._emit_ready_part())
        return "".join(out)

    def flush(self) -> str:
        """End of the text: return everything still held, converted."""
        held, self._held = self._held, ""
        text = self._complete(held) if held else ""
        self._at_line_start = True
        return text

    def _complete(self, line: str) -> str:
        if self._at_line_start:
            if _RULE.match(line):
                return ""
            line = _strip_line_start(line)
        return _strip_inline(line)[0]

    def _emit_ready_part(self) -> str:
        held = self._held
        if self._at_line_start and not _line_start_known(held):
            return ""
        tried = 0
        for cut in range(len(held), 0, -1):
            if held[cut - 1] not in BOUNDARIES:
                continue
            piece = held[:cut]
            if self._at_line_start:
                if not _line_start_known(piece):
                    break  # the marks at the line start are still undecided
                piece = _strip_line_start(piece)
            plain, pending = _strip_inline(piece)
            if not pending:
                self._held = held[cut:]
                self._at_line_start = False
                return plain
            tried += 1
            if tried == self._MAX_CUTS_TRIED:
                break
        return ""


def strip_markdown(text: str) -> str:
    """``text`` without markdown (the same result as :class:`MarkdownFilter` gives)."""
    md = MarkdownFilter()
    return md.push(text) + md.flush()
