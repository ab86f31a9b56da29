"""When each word of an agent transcript is spoken.

A :class:`TimedText` is a transcript as it is written. Its timed pieces
(:class:`~vagent.io.TimedString` from a TTS that reports word timings) give *anchors*: the
text offset where a piece's words begin is spoken at its ``start_time``, where they end at
its ``end_time``. A word's start is its anchor, or else is interpolated by characters
between the anchors around it; after the last anchor it follows the speaking-rate estimate
(hyphens per second). Without anchors every word follows that estimate: ``3.83 * speed``
hyphens per second until the text and audio are complete, then the rate that makes the last
word come out as the audio ends.
"""

from __future__ import annotations

import bisect
import re

from attrs import define, field

from vagent._core import TimedString, is_given
from vagent.pipeline.tokenize import hyphenate_word

__all__ = ["STANDARD_SPEECH_RATE", "TimedText"]

STANDARD_SPEECH_RATE = 3.83
"""Hyphens (syllable-like pieces) per second of ordinary speech."""

_TOKEN = re.compile(r"\s*\S+\s*")
_LETTERS = re.compile(r"[^\W\d_]+")


def _hyphen_count(word: str) -> int:
    pieces = sum(len(hyphenate_word(part)) for part in _LETTERS.findall(word))
    return max(pieces, 1)


@define
class Words:
    """The whole words of a :class:`TimedText`: each one's text (with the whitespace around
    it), the offset where its first character is, and the offset where it (and the
    whitespace after it) ends."""

    texts: list[str] = field(factory=list)
    starts: list[int] = field(factory=list)
    ends: list[int] = field(factory=list)


@define
class TimedText:
    """A transcript being written, with the word timings its timed pieces carry."""

    text: str = ""
    # (offset of a non-space character, seconds), offsets increasing, seconds not decreasing
    anchor_offsets: list[int] = field(factory=list)
    anchor_times: list[float] = field(factory=list)
    closed_until: int = 0  # words ending at or before this offset are complete

    @property
    def timed(self) -> bool:
        """Whether any piece carried a time."""
        return bool(self.anchor_offsets)

    def append(self, piece: str) -> None:
        """Add ``piece``; a :class:`TimedString` adds its times as anchors, and one with an
        ``end_time`` completes its last word (more text cannot extend it)."""
        offset = len(self.text)
        self.text += piece
        if not isinstance(piece, TimedString):
            return
        first = offset + len(piece) - len(piece.lstrip())
        last = offset + len(piece.rstrip())
        if last <= first:
            return  # whitespace only: nothing is spoken
        if is_given(piece.start_time):
            self._anchor(first, piece.start_time)
        if is_given(piece.end_time):
            self._anchor(last, piece.end_time)
            self.closed_until = last

    def _anchor(self, offset: int, seconds: float) -> None:
        if self.anchor_offsets and offset <= self.anchor_offsets[-1]:
            return
        if self.anchor_times:
            seconds = max(seconds, self.anchor_times[-1])
        self.anchor_offsets.append(offset)
        self.anchor_times.append(seconds)

    def words(self, *, complete: bool) -> Words:
        """The whole words so far; the last one only counts when the text is ``complete``,
        ends with whitespace, or was closed by an end time (more text could extend it)."""
        words = Words()
        for match in _TOKEN.finditer(self.text):
            token = match.group()
            words.texts.append(token)
            words.starts.append(match.start() + len(token) - len(token.lstrip()))
            words.ends.append(match.end())
        text = self.text
        if (
            words.texts
            and not complete
            and not text[-1].isspace()
            and len(text.rstrip()) > self.closed_until
        ):
            for column in (words.texts, words.starts, words.ends):
                column.pop()
        return words

    def word_starts(
        self, words: Words, *, speed: float, audio_duration: float | None = None
    ) -> list[float]:
        """When each of ``words`` starts, in seconds of audio. ``audio_duration``: the
        whole audio's length, given once text and audio are both complete."""
        hyphens = [_hyphen_count(w) for w in words.texts]
        if not self.anchor_offsets:
            total = sum(hyphens)
            if audio_duration is not None and audio_duration > 0 and total > 0:
                rate = total / audio_duration
            else:
                rate = STANDARD_SPEECH_RATE * speed
            starts, before = [], 0
            for count in hyphens:
                starts.append(before / rate)
                before += count
            return starts
        return self._anchored_starts(words, hyphens, speed, audio_duration)

    def _anchored_starts(
        self, words: Words, hyphens: list[int], speed: float, audio_duration: float | None
    ) -> list[float]:
        offsets, times = self.anchor_offsets, self.anchor_times
        last_offset, last_time = offsets[-1], times[-1]
        # after the last anchor: the estimate, or what fills the rest of the audio
        rate = STANDARD_SPEECH_RATE * speed
        after = [h for s, h in zip(words.starts, hyphens, strict=True) if s >= last_offset]
        if audio_duration is not None and audio_duration > last_time and after:
            rate = sum(after) / (audio_duration - last_time)
        starts: list[float] = []
        hyphens_after_last = 0
        for start, count in zip(words.starts, hyphens, strict=True):
            if start >= last_offset:
                seconds = last_time + hyphens_after_last / rate
                hyphens_after_last += count
            else:
                index = bisect.bisect_right(offsets, start)  # first anchor after the word
                before_offset = offsets[index - 1] if index > 0 else 0
                before_time = times[index - 1] if index > 0 else 0.0
                span = offsets[index] - before_offset
                share = (start - before_offset) / span if span > 0 else 0.0
                seconds = before_time + (times[index] - before_time) * share
            starts.append(max(seconds, starts[-1]) if starts else seconds)
        return starts

    def heard_until(
        self,
        position: float,
        *,
        speed: float,
        complete: bool,
        audio_duration: float | None = None,
    ) -> int:
        """The offset in :attr:`text` up to which the words started before ``position``
        seconds of audio."""
        words = self.words(complete=complete)
        starts = self.word_starts(words, speed=speed, audio_duration=audio_duration)
        heard = [end for start, end in zip(starts, words.ends, strict=True) if start < position]
        return heard[-1] if heard else 0
