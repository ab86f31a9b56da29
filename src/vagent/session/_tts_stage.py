"""The TTS side of a step: the default TTS stage, the audio it produces, its timed words.

Frames from the TTS (the provider stream, or a custom ``tts_node``) go to the step's audio
channel through an :class:`AudioSink`, which counts synthesized seconds and, when the step
shows the TTS-aligned transcript, sends the :class:`TimedString` words the frames carry to a
channel of their own. :func:`aligned_transcript_stage` turns that channel into the
transcript: the timed words as they come, or, when the TTS reported none, the text it was
given (livekit-agents falls back the same way).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from vagent._core import TimedString
from vagent.pipeline.tts import timed_transcript

if TYPE_CHECKING:
    from livekit import rtc

    from .generation import StepResult

logger = logging.getLogger("vagent.session")


class AudioSink:
    """The TTS stage's output: counts synthesized seconds, passes on timed words (when
    ``timed`` is given), then forwards the frame. :meth:`close` closes both channels."""

    def __init__(
        self,
        send: MemoryObjectSendStream[rtc.AudioFrame],
        result: StepResult,
        timed: MemoryObjectSendStream[TimedString] | None = None,
    ) -> None:
        self._send = send
        self._result = result
        self._timed = timed

    async def send(self, frame: rtc.AudioFrame, /) -> None:
        self._result.synthesized_duration += frame.samples_per_channel / frame.sample_rate
        if self._timed is not None:
            for word in timed_transcript(frame):
                await self._timed.send(word)
        await self._send.send(frame)

    def close(self) -> None:
        self._send.close()
        if self._timed is not None:
            self._timed.close()


async def tts_stream_stage(
    open_stream: Callable[[], Any],
    text: MemoryObjectReceiveStream[str],
    audio: AudioSink,
) -> None:
    """The default tts node without a generator: the stream lives in this task."""
    try:
        async with open_stream() as stream, anyio.create_task_group() as tg:

            async def push_text() -> None:
                async with text:
                    async for delta in text:
                        stream.push_text(delta)
                stream.end_input()

            tg.start_soon(push_text)
            async for synthesized in stream:
                await audio.send(synthesized.frame)
            tg.cancel_scope.cancel()
    finally:
        audio.close()


async def aligned_transcript_stage(
    timed: MemoryObjectReceiveStream[TimedString],
    text: MemoryObjectReceiveStream[str],
    send: MemoryObjectSendStream[str],
) -> None:
    """Send the TTS's timed words to ``send``; when it reported none by the end of its
    audio, send the ``text`` it was given instead.

    ``text`` is read all along (the tee feeding the TTS must never wait on it): kept until
    the first timed word arrives, dropped after. Its size is bounded by the reply.
    """
    kept: list[str] = []
    aligned = False
    async with timed, text, send, anyio.create_task_group() as tg:
        text_done = anyio.Event()

        async def read_text() -> None:
            async for delta in text:
                if not aligned:
                    kept.append(delta)
            text_done.set()

        tg.start_soon(read_text)
        async for word in timed:
            if not aligned:
                aligned = True
                kept.clear()
            await send.send(word)
        if not aligned:
            await text_done.wait()
            if "".join(kept).strip():
                logger.warning("the TTS reported no word timings; the transcript is its text")
            for delta in kept:
                await send.send(delta)
