"""Text transforms as stream stages, and running a chain of them.

A transform takes the reply text as an async iterable of pieces and gives back an async
iterable of pieces (``Callable[[AsyncIterable[str]], AsyncIterable[str]]``), or is the name
of a built-in one: ``"filter_markdown"`` or ``"filter_emoji"``. User transforms are usually
async generators::

    async def spell_out_units(text: AsyncIterable[str]) -> AsyncIterator[str]:
        async for piece in text:
            yield piece.replace("km/h", "kilometers per hour")

A transform sees the pieces as the LLM streams them, so a word or a markup construct may be
split across two pieces; the built-in ones handle that (see :class:`MarkdownFilter`).
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterable, AsyncIterator, Callable, Sequence
from typing import Any, Literal, Protocol, TypeAlias

import anyio.lowlevel

from vagent._core import ValidationError

from ._emoji import EmojiFilter
from ._markdown import MarkdownFilter

TextTransform: TypeAlias = (
    Literal["filter_markdown", "filter_emoji"] | Callable[[AsyncIterable[str]], AsyncIterable[str]]
)
"""A built-in transform's name, or a function from text pieces to text pieces."""

TextTransforms = TextTransform  # livekit-agents' name for one entry of the list

DEFAULT_TTS_TEXT_TRANSFORMS: tuple[TextTransform, ...] = ("filter_markdown", "filter_emoji")
"""What a session applies to the text it speaks unless told otherwise."""


class _IncrementalFilter(Protocol):
    def push(self, text: str) -> str: ...
    def flush(self) -> str: ...


class FilteredText:
    """An async iterator of the pieces of ``source`` passed through an incremental filter.

    Not a generator: nothing to finalize, so leaving it early is safe. Pieces that filter to
    nothing are skipped; the filter's held-back text comes out when ``source`` ends.
    """

    def __init__(self, source: AsyncIterable[str], text_filter: _IncrementalFilter) -> None:
        self._source = source.__aiter__()
        self._filter = text_filter
        self._done = False

    def __aiter__(self) -> FilteredText:
        return self

    async def __anext__(self) -> str:
        # ASYNC910: awaiting the source is the checkpoint
        while not self._done:
            try:
                piece = await self._source.__anext__()
            except StopAsyncIteration:
                self._done = True
                rest = self._filter.flush()
                if rest:
                    return rest  # noqa: ASYNC910
                break
            if not isinstance(piece, str):
                raise TypeError(f"text transforms take str pieces, got {type(piece).__name__}")
            out = self._filter.push(piece)
            if out:
                return out  # noqa: ASYNC910
        raise StopAsyncIteration


def filter_markdown(text: AsyncIterable[str]) -> AsyncIterator[str]:
    """``text`` without markdown markup, streamed (see :class:`MarkdownFilter`)."""
    return FilteredText(text, MarkdownFilter())


def filter_emoji(text: AsyncIterable[str]) -> AsyncIterator[str]:
    """``text`` without emoji, streamed (see :class:`EmojiFilter`)."""
    return FilteredText(text, EmojiFilter())


_BUILT_IN: dict[str, Callable[[AsyncIterable[str]], AsyncIterable[str]]] = {
    "filter_markdown": filter_markdown,
    "filter_emoji": filter_emoji,
}


def resolve_text_transforms(
    transforms: Sequence[TextTransform] | None,
) -> list[Callable[[AsyncIterable[str]], AsyncIterable[str]]]:
    """The functions behind ``transforms`` (names resolved), in order.

    Raises :class:`ValidationError` for an unknown name or a value that is not callable, so
    a typo fails when the session or agent is made, not in the middle of a reply.
    """
    if transforms is None:
        return []
    if isinstance(transforms, str) or not isinstance(transforms, Sequence):
        raise ValidationError(
            f"text transforms must be a list of names or callables, got {transforms!r}"
        )
    resolved = []
    for transform in transforms:
        if isinstance(transform, str):
            if transform not in _BUILT_IN:
                raise ValidationError(
                    f"unknown text transform {transform!r}; built-in ones are "
                    f"{', '.join(sorted(_BUILT_IN))}"
                )
            resolved.append(_BUILT_IN[transform])
        elif callable(transform):
            resolved.append(transform)
        else:
            raise ValidationError(
                f"a text transform must be a name or a callable, got {transform!r}"
            )
    return resolved


class TextSink(Protocol):
    """Where :func:`run_text_transforms` sends pieces (a memory channel's send side)."""

    async def send(self, item: str, /) -> None: ...


async def run_text_transforms(
    text: AsyncIterable[str], transforms: Sequence[TextTransform] | None, send: TextSink
) -> None:
    """Send ``text``, transformed, to ``send`` (which is not closed here); empty pieces skipped.

    The whole chain runs in the calling task; it blocks while ``send`` is full. When it ends
    (also by an error or a cancellation) every async generator a transform returned is
    closed, outermost first, so no generator is left for the garbage collector. Raises what
    a transform raises, and :class:`TypeError` when one yields something other than ``str``.
    """
    stages: list[AsyncIterable[Any]] = []
    stream: AsyncIterable[Any] = text
    try:
        for transform in resolve_text_transforms(transforms):
            stream = transform(stream)
            if not isinstance(stream, AsyncIterable):
                raise TypeError(
                    f"text transform {transform!r} returned {type(stream).__name__}, "
                    "not an async iterable"
                )
            stages.append(stream)
        async for piece in stream:
            if not isinstance(piece, str):
                raise TypeError(f"a text transform yielded {type(piece).__name__}, not str")
            if piece:
                await send.send(piece)
            else:
                await anyio.lowlevel.checkpoint()
    finally:
        for stage in reversed(stages):
            if inspect.isasyncgen(stage):
                with anyio.CancelScope(shield=True):
                    await stage.aclose()
