"""Tokenizer interfaces and the buffered token stream shared by sentence and word streams."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import anyio
import anyio.lowlevel
from attrs import frozen

from vagent._core import NOT_GIVEN, NotGivenOr, OwnershipError, shortuuid


@frozen(kw_only=True)
class TokenData:
    """A token (sentence or word) and the segment it belongs to (segments end at ``flush``)."""

    segment_id: str = ""
    token: str = ""


class TokenStream:
    """Push text, iterate tokens: ``push_text`` / ``flush`` / ``end_input`` / ``async for``.

    Needs no task: tokens are computed when text is pushed and wait in a queue until read.
    The queue is unbounded on purpose: it only holds the text the writer pushed, split up,
    and dropping text is never acceptable. Iteration waits for tokens and ends after
    ``end_input`` once everything was read. ``pop_tokens()`` takes what is ready without
    waiting.
    """

    def __init__(
        self,
        *,
        tokenize: Callable[[str], list[tuple[str, int, int]]],
        min_token_len: int,
        min_ctx_len: int,
        keep_last_until_whitespace: bool = False,
    ) -> None:
        self._tokenize = tokenize
        self._min_token_len = min_token_len
        self._min_ctx_len = min_ctx_len
        self._word_mode = keep_last_until_whitespace
        self._buf = ""
        self._ready: deque[TokenData] = deque()
        self._segment_id = shortuuid("SEG_")
        self._ended = False
        self._wakeup = anyio.Event()

    def push_text(self, text: str) -> None:
        """Add text; complete tokens become available right away."""
        if self._ended:
            raise OwnershipError(f"{type(self).__name__}: push_text() after end_input()")
        self._buf += text
        tokens = self._tokenize(self._buf)
        if len(tokens) < 2:
            if self._word_mode and tokens and self._buf[-1:].isspace():
                self._emit(tokens)
            return
        complete = tokens if self._word_mode and self._buf[-1:].isspace() else tokens[:-1]
        if not self._word_mode:
            context = len(self._buf) - complete[-1][2]
            if context < self._min_ctx_len:
                return
        self._emit(complete)

    def _emit(self, tokens: list[tuple[str, int, int]]) -> None:
        for token, _, _ in tokens:
            self._ready.append(TokenData(segment_id=self._segment_id, token=token))
        self._buf = self._buf[tokens[-1][2] :]
        self._wakeup.set()

    def flush(self) -> None:
        """Emit everything buffered as tokens and start a new segment."""
        if self._ended:
            raise OwnershipError(f"{type(self).__name__}: flush() after end_input()")
        self._flush()

    def _flush(self) -> None:
        tokens = self._tokenize(self._buf)
        if tokens:
            self._emit(tokens)
        self._buf = ""
        self._segment_id = shortuuid("SEG_")
        self._wakeup.set()

    def end_input(self) -> None:
        """Flush and end the stream (idempotent)."""
        if not self._ended:
            self._flush()
            self._ended = True
            self._wakeup.set()

    def pop_tokens(self) -> list[TokenData]:
        """Every token ready now, without waiting."""
        tokens = list(self._ready)
        self._ready.clear()
        return tokens

    def __aiter__(self) -> TokenStream:
        return self

    async def __anext__(self) -> TokenData:
        await anyio.lowlevel.checkpoint()
        while not self._ready:
            if self._ended:
                raise StopAsyncIteration
            self._wakeup = anyio.Event()
            await self._wakeup.wait()
        return self._ready.popleft()

    async def aclose(self) -> None:
        """Discard pending tokens and end the stream."""
        await anyio.lowlevel.checkpoint()
        self._ended = True
        self._ready.clear()
        self._wakeup.set()


class SentenceStream(TokenStream):
    """A :class:`TokenStream` of sentences."""


class WordStream(TokenStream):
    """A :class:`TokenStream` of words."""


class SentenceTokenizer:
    """Splits text into sentences; ``stream()`` does it incrementally."""

    def tokenize(self, text: str, *, language: NotGivenOr[str] = NOT_GIVEN) -> list[str]:
        raise NotImplementedError

    def stream(self, *, language: NotGivenOr[str] = NOT_GIVEN) -> SentenceStream:
        raise NotImplementedError


class WordTokenizer:
    """Splits text into words; ``stream()`` does it incrementally."""

    def tokenize(self, text: str, *, language: NotGivenOr[str] = NOT_GIVEN) -> list[str]:
        raise NotImplementedError

    def stream(self, *, language: NotGivenOr[str] = NOT_GIVEN) -> WordStream:
        raise NotImplementedError
