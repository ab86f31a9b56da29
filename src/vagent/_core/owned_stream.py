"""Base class for provider streams (LLM chat, STT recognition, TTS synthesis, VAD).

A stream is an async context manager that owns exactly one producer task in its own task
group. The producer writes into a bounded output channel; the consumer iterates the stream.
Input (audio frames, text) goes through a bounded input channel that the producer reads.

Lifetime::

    async with llm.chat(chat_ctx=ctx) as stream:   # producer task starts
        async for chunk in stream:                 # reads the output channel
            ...
    # leaving the block cancels the producer and waits for it: nothing keeps running

Errors: a producer that fails ends the output, and the consumer's next ``__anext__`` raises
the error (an :class:`APIError` after retries). No ``ExceptionGroup`` reaches the user.
Using the stream before ``async with`` or after it ended raises :class:`OwnershipError`.
"""

from __future__ import annotations

import enum
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

import anyio
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectSendStream

from .channels import open_channel
from .errors import OwnershipError
from .excgroups import collapse_excgroups

InT = TypeVar("InT")
OutT = TypeVar("OutT")


class _State(enum.Enum):
    NEW = "new"
    OPEN = "open"
    CLOSED = "closed"


class OwnedStream(Generic[InT, OutT]):
    """A producer task plus bounded input/output channels, owned by ``async with``.

    Subclasses implement :meth:`_run`. ``input_buffer`` and ``output_buffer`` bound the two
    channels; a full output channel blocks the producer (backpressure); a full input channel
    makes :meth:`_send_input_nowait` return False so the caller applies its drop policy.
    """

    def __init__(self, *, input_buffer: int = 16, output_buffer: int = 16) -> None:
        # Channels are created on entry: a stream that is never entered owns nothing.
        self._buffers = (input_buffer, output_buffer)
        self._state = _State.NEW
        self._task_group: TaskGroup | None = None
        self._error: BaseException | None = None
        self._error_raised = False

    # -- to implement -------------------------------------------------------------------

    def _make_input(self) -> tuple[Any, Any]:
        """The input's (writer, reader), made on entry; ``_run`` gets the reader.

        Default: a bounded channel of ``input_buffer`` items (``MemoryObjectSendStream`` /
        ``MemoryObjectReceiveStream``). A subclass may return another pair with the same
        surface (the writer's ``close()`` ends the input; the reader is an async context
        manager whose exit releases it), e.g. one object for both, and then types ``_run``'s
        ``input`` as that reader.
        """
        return open_channel(self._buffers[0], object)

    async def _run(self, input: Any, output: MemoryObjectSendStream[OutT]) -> None:
        """Produce the stream: read ``input`` (the reader of :meth:`_make_input`) until it
        ends, write results to ``output``."""
        raise NotImplementedError

    # -- lifetime ------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._state is not _State.NEW:
            raise OwnershipError(f"{type(self).__name__} can only be entered once")
        self._input_send, self._input_recv = self._make_input()
        self._output_send, self._output_recv = open_channel(self._buffers[1], object)
        task_group = anyio.create_task_group()
        await task_group.__aenter__()
        self._task_group = task_group
        self._state = _State.OPEN
        task_group.start_soon(self._run_producer, name=f"{type(self).__name__}._run")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        assert self._task_group is not None
        self._state = _State.CLOSED
        self._task_group.cancel_scope.cancel()
        self._input_send.close()
        try:
            with collapse_excgroups():
                # The producer's scope is already cancelled: this join is prompt.
                return await self._task_group.__aexit__(exc_type, exc, tb)  # noqa: ASYNC102
        finally:
            self._output_recv.close()

    async def aclose(self) -> None:
        """Stop the producer now; its task is gone when the ``async with`` block ends.

        Idempotent. After it, iteration ends and input is refused.
        """
        if self._state is _State.OPEN and self._task_group is not None:
            self._task_group.cancel_scope.cancel()
            self._input_send.close()
            self._output_recv.close()
        await anyio.lowlevel.checkpoint()

    async def _run_producer(self) -> None:  # noqa: ASYNC910 (errors end the stream in-band)
        try:
            async with self._output_send, self._input_recv:
                await self._run(self._input_recv, self._output_send)
        except anyio.get_cancelled_exc_class():
            raise
        except Exception as exc:
            self._error = exc

    # -- consumer side -------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._state is _State.NEW:
            raise OwnershipError(
                f"{type(self).__name__} is not open: use it as `async with ... as stream:`"
            )
        if self._state is _State.CLOSED:
            raise OwnershipError(
                f"{type(self).__name__} is closed: it was used after its `async with` block"
            )

    def __aiter__(self) -> Self:
        self._check_open()
        return self

    async def __anext__(self) -> OutT:
        self._check_open()
        try:
            return await self._output_recv.receive()  # type: ignore[return-value]
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            if self._error is not None and not self._error_raised:
                self._error_raised = True
                raise self._error from None
            raise StopAsyncIteration from None

    # -- input side ----------------------------------------------------------------------

    def _send_input_nowait(self, item: InT) -> bool:
        """Queue input without blocking; False when the input buffer is full."""
        self._check_open()
        try:
            self._input_send.send_nowait(item)
        except anyio.WouldBlock:
            return False
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            raise OwnershipError(f"{type(self).__name__}: input already ended") from None
        return True

    async def _send_input(self, item: InT) -> None:
        """Queue input, waiting while the input buffer is full (backpressure)."""
        self._check_open()
        try:
            await self._input_send.send(item)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            raise OwnershipError(f"{type(self).__name__}: input already ended") from None

    def _end_input(self) -> None:
        """No more input; the producer sees the end of its input channel."""
        self._input_send.close()
