"""The text side of a synthesis stream: ``push_text`` / ``flush`` / ``end_input``.

Text is never dropped and ``push_text`` never blocks (it is called from LLM token loops).
Instead of a channel of fragments, consecutive fragments are concatenated into one pending
string, so the queue holds at most one string per segment plus the flush markers between
them: memory is the text not yet synthesized, which an LLM reply bounds. A flush with no text
since the previous one is ignored (no empty segments).

The provider reads items with :meth:`TextInput.next`. Until output has been emitted the
items it read are kept, so a retried attempt replays them from the start
(:meth:`TextInput.rewind`); after that they are forgotten.
"""

from __future__ import annotations

from typing import Final, TypeAlias

import anyio
import anyio.lowlevel
from attrs import define

from vagent._core import OwnershipError


class _FlushSentinel:
    __slots__ = ()

    def __repr__(self) -> str:
        return "FLUSH"


FLUSH: Final = _FlushSentinel()
"""A segment boundary in a text input."""

TextItem: TypeAlias = str | _FlushSentinel


@define(kw_only=True)
class TextSegmentInfo:
    """When a segment's first text arrived and how many characters it holds."""

    started_at: float
    characters: int = 0


class TextInput:
    """Pending text items of one synthesis stream (see the module docstring)."""

    def __init__(self, owner: str) -> None:
        self._owner = owner
        self._items: list[TextItem] = []
        self._cursor = 0
        self._ended = False
        self._wakeup = anyio.Event()
        self._segments: list[TextSegmentInfo] = []
        self._segment_open = False
        self._has_words = False

    # -- writer side ---------------------------------------------------------------------

    def push_text(self, text: str) -> None:
        if self._ended:
            raise OwnershipError(f"{self._owner}: push_text() after end_input()")
        if not text:
            return
        if not self._segment_open:
            self._segments.append(TextSegmentInfo(started_at=anyio.current_time()))
            self._segment_open = True
        self._segments[-1].characters += len(text)
        self._has_words = self._has_words or not text.isspace()
        last = self._items[-1] if len(self._items) > self._cursor else None
        if isinstance(last, str):
            self._items[-1] = last + text
        else:
            self._items.append(text)
        self._wakeup.set()

    def flush(self) -> None:
        if self._ended:
            raise OwnershipError(f"{self._owner}: flush() after end_input()")
        if not self._segment_open:
            return
        self._segment_open = False
        self._items.append(FLUSH)
        self._wakeup.set()

    def end_input(self) -> None:
        """Idempotent; pending text forms the last segment."""
        self._ended = True
        self._segment_open = False
        self._wakeup.set()

    @property
    def ended(self) -> bool:
        return self._ended

    @property
    def has_words(self) -> bool:
        """True once text that is not only whitespace was pushed."""
        return self._has_words

    # -- reader side ---------------------------------------------------------------------

    async def next(self) -> TextItem | None:
        """The next item, waiting for one; ``None`` when input has ended and all was read."""
        await anyio.lowlevel.checkpoint()
        while self._cursor >= len(self._items):
            if self._ended:
                return None
            self._wakeup = anyio.Event()
            await self._wakeup.wait()
        item = self._items[self._cursor]
        self._cursor += 1
        return item

    def __aiter__(self) -> TextInput:
        return self

    async def __anext__(self) -> TextItem:
        item = await self.next()
        if item is None:
            raise StopAsyncIteration
        return item

    def rewind(self) -> None:
        """Replay everything still kept (a retry)."""
        self._cursor = 0

    def forget_read(self) -> None:
        """Drop items already read (output was emitted: no retry will need them)."""
        del self._items[: self._cursor]
        self._cursor = 0

    def segment_info(self, index: int) -> TextSegmentInfo | None:
        """The ``index``-th segment's text statistics (in flush order)."""
        return self._segments[index] if index < len(self._segments) else None
