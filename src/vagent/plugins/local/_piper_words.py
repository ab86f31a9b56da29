"""Word timings from piper's phoneme alignments.

Piper synthesizes a text sentence by sentence (espeak splits it). With a voice whose ONNX
graph exposes its phoneme durations (patched in memory by :mod:`._piper_alignment`),
each sentence's :class:`AudioChunk` carries the number of audio samples of every phoneme.
Words are the runs of phonemes between spaces; the n-th word of a sentence is the n-th word
of its text when the counts agree and the sentence ends where the text's sentence does.
When they do not (espeak reads "23" as two words, or the voice has no alignments), the
sentence is timed as one piece from its first to its last spoken sample.

Every piece is the input text with its whitespace (the pieces concatenate to the text), so
the transcript shown is the text the TTS was given.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

from vagent._core import TimedString

_BOUNDARIES = frozenset({"^", "$", "_"})  # piper's BOS, EOS and PAD
_CLOSERS = "\"')]}\u00bb\u201d\u2019"  # closing quotes and brackets after a sentence end


def _is_punctuation(phoneme: str) -> bool:
    return all(unicodedata.category(char).startswith("P") for char in phoneme)


def phoneme_words(alignments: Sequence[Any]) -> list[tuple[int, int]]:
    """(first sample, end sample) of each spoken word of one sentence's alignments."""
    words: list[list[int]] = []
    position = 0
    in_word = False
    for alignment in alignments:
        samples = int(alignment.num_samples)
        phoneme = alignment.phoneme
        if phoneme in _BOUNDARIES or phoneme.isspace():
            in_word = False
        elif not _is_punctuation(phoneme):
            if in_word:
                words[-1][1] = position + samples
            else:
                words.append([position, position + samples])
                in_word = True
        position += samples
    return [(start, end) for start, end in words]


def _terminal(phonemes: Sequence[str]) -> str | None:
    """The punctuation a sentence's phonemes end with, if any."""
    for phoneme in reversed(phonemes):
        if phoneme.isspace():
            continue
        return phoneme if _is_punctuation(phoneme) else None
    return None


class TextWords:
    """The words of one synthesis request's text, handed out sentence by sentence."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._ends = [match.end() for match in re.finditer(r"\S+", text)]
        self._next = 0  # index of the next word not timed yet
        self._position = 0  # offset in the text where the next piece starts

    def sentence(
        self, chunk: Any, *, start: float, sample_rate: int, aligned: bool
    ) -> list[TimedString]:
        """Timed pieces of the text for one piper sentence whose audio starts at ``start``
        seconds; ``aligned``: use the chunk's phoneme alignments (when it has them)."""
        samples = len(chunk.audio_int16_array)
        alignments = chunk.phoneme_alignments if aligned else None
        spoken = phoneme_words(alignments) if alignments else []
        terminal = _terminal(chunk.phonemes)
        count = len(spoken)
        if count and self._matches(count, terminal):
            pieces = []
            for first, end in spoken:
                pieces.append(
                    self._piece(
                        self._ends[self._next],
                        start + first / sample_rate,
                        start + end / sample_rate,
                    )
                )
                self._next += 1
            return pieces
        # one piece for the sentence: up to the word that ends it like the phonemes do
        last = self._sentence_end(terminal)
        if last is None:
            return []
        first_sample, end_sample = (spoken[0][0], spoken[-1][1]) if spoken else (0, samples)
        piece = self._piece(
            self._ends[last],
            start + first_sample / sample_rate,
            start + end_sample / sample_rate,
        )
        self._next = last + 1
        return [piece]

    def rest(self) -> str:
        """The text no sentence took (words piper did not speak, trailing whitespace)."""
        return self._text[self._position :]

    def _matches(self, count: int, terminal: str | None) -> bool:
        last = self._next + count - 1
        if last >= len(self._ends):
            return False
        if terminal is None:
            return last == len(self._ends) - 1
        return self._word(last).rstrip(_CLOSERS).endswith(terminal)

    def _sentence_end(self, terminal: str | None) -> int | None:
        if self._next >= len(self._ends):
            return None
        if terminal is not None:
            for index in range(self._next, len(self._ends)):
                if self._word(index).rstrip(_CLOSERS).endswith(terminal):
                    return index
        return len(self._ends) - 1

    def _word(self, index: int) -> str:
        start = self._ends[index - 1] if index > 0 else 0
        return self._text[start : self._ends[index]].strip()

    def _piece(self, end: int, start_time: float, end_time: float) -> TimedString:
        piece = TimedString(self._text[self._position : end], start_time, end_time)
        self._position = end
        return piece
