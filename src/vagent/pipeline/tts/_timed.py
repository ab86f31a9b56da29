"""Word timings on synthesized audio: where they travel and how they map onto text.

A TTS that knows when its words are spoken reports them as :class:`TimedString` pieces
whose texts, concatenated, are the text it spoke, with times in seconds from the start of
its stream's audio. They travel in ``frame.userdata[USERDATA_TIMED_TRANSCRIPT]`` of the
frame whose audio comes at or after their start, as livekit-agents carries them, so a custom
``tts_node`` that yields the default node's frames keeps them.
"""

from __future__ import annotations

from collections.abc import Iterable

from livekit import rtc

from vagent._core import TimedString

USERDATA_TIMED_TRANSCRIPT = "lk.timed_transcripts"
"""The ``rtc.AudioFrame.userdata`` key holding the frame's list of :class:`TimedString`."""


def timed_transcript(frame: rtc.AudioFrame) -> list[TimedString]:
    """The timed words carried by ``frame`` (empty when it carries none)."""
    words = frame.userdata.get(USERDATA_TIMED_TRANSCRIPT)
    if not words:
        return []
    return [word for word in words if isinstance(word, TimedString)]


def attach_timed_transcript(frame: rtc.AudioFrame, words: Iterable[TimedString]) -> None:
    """Add ``words`` to those ``frame`` carries."""
    words = list(words)
    if words:
        frame.userdata.setdefault(USERDATA_TIMED_TRANSCRIPT, []).extend(words)


def match_end(raw: str, start: int, text: str) -> int | None:
    """Where in ``raw`` the non-space characters of ``text`` end when matched in order from
    ``start`` (whitespace in ``raw`` skipped); ``None`` when they differ."""
    index = start
    for char in text:
        if char.isspace():
            continue
        while index < len(raw) and raw[index].isspace():
            index += 1
        if index >= len(raw) or raw[index] != char:
            return None
        index += 1
    return index


class TextAligner:
    """Maps timed words onto ``raw``, the text they were made from, one word at a time.

    A provider's words often carry the text with its whitespace normalized; each word is
    re-texted to the piece of ``raw`` that holds the same non-space characters, with the
    whitespace before it, so the pieces concatenate to ``raw``. After a word whose characters
    differ, :attr:`failed` is set and :meth:`take` returns ``None``; :meth:`rest` is what is
    not matched yet.
    """

    def __init__(self, raw: str) -> None:
        self._raw = raw
        self._position = 0
        self.failed = False

    def take(self, word: TimedString) -> TimedString | None:
        """``word`` re-texted onto the next piece of ``raw`` (``None``: it spells nothing,
        or the characters differ)."""
        if self.failed:
            return None
        end = match_end(self._raw, self._position, word)
        if end is None:
            self.failed = True
            return None
        if end == self._position:
            return None
        piece = self._raw[self._position : end]
        self._position = end
        return word.retexted(piece)

    def rest(self) -> str:
        """The part of ``raw`` no word took yet."""
        return self._raw[self._position :]
