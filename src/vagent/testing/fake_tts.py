"""A scripted TTS for tests: audio of a given duration after a given time to first byte.

Each text (a ``synthesize`` request, or a stream segment ended by ``flush``/``end_input``)
is looked up in ``responses`` by its stripped text; unknown texts use ``default``. After
``ttfb`` seconds the fake emits ``audio_duration`` seconds of audio (silence, or a sine tone
when ``tone_hz`` is set) in frames of ``frame_duration`` as fast as the output channel
takes them. ``failures`` is consumed one item per attempt: an exception is raised,
``"hang"`` waits forever (a timeout of ``conn_options.timeout`` then fails the attempt).

``aligned_transcript=True`` makes the fake report word timings, as a TTS with alignment
does: each word of the text (with the whitespace before it) as a :class:`TimedString`, at
the response's ``word_times`` (start, end) pairs, or spread evenly over its audio.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import anyio
import anyio.lowlevel
import numpy as np
from attrs import field, frozen
from livekit import rtc

from vagent._core import DEFAULT_API_CONNECT_OPTIONS, APIConnectOptions, TimedString
from vagent.pipeline.tts import (
    FLUSH,
    TTS,
    AudioEmitter,
    ChunkedStream,
    SynthesizeStream,
    TextInput,
    TTSCapabilities,
)
from vagent.testing._model_names import ModelNames

from ._scripted_failures import Failure, fail_if_scripted

__all__ = ["FakeChunkedStream", "FakeSynthesizeStream", "FakeTTS", "FakeTTSResponse"]


def _as_word_times(
    times: Sequence[tuple[float, float]] | None,
) -> tuple[tuple[float, float], ...] | None:
    return None if times is None else tuple((start, end) for start, end in times)


@frozen(kw_only=True)
class FakeTTSResponse:
    """How the fake answers one text. ``word_times``: (start, end) seconds of each word of
    the text into its audio, reported when the fake has ``aligned_transcript``."""

    audio_duration: float = 1.0
    ttfb: float = 0.2
    word_times: tuple[tuple[float, float], ...] | None = field(
        default=None, converter=_as_word_times
    )


class FakeTTS(ModelNames, TTS):
    """See the module docstring. ``requests`` lists every text synthesized (per attempt)."""

    def __init__(
        self,
        *,
        responses: Mapping[str, FakeTTSResponse] | None = None,
        default: FakeTTSResponse | None = None,
        streaming: bool = True,
        sample_rate: int = 24000,
        num_channels: int = 1,
        frame_duration: float = 0.02,
        tone_hz: float | None = None,
        failures: Sequence[Failure] = (),
        aligned_transcript: bool = False,
        model: str = "unknown",
        provider: str = "unknown",
    ) -> None:
        super().__init__(
            capabilities=TTSCapabilities(
                streaming=streaming, aligned_transcript=aligned_transcript
            ),
            sample_rate=sample_rate,
            num_channels=num_channels,
        )
        self.responses = dict(responses or {})
        self.default = default or FakeTTSResponse()
        self.frame_duration = frame_duration
        self.tone_hz = tone_hz
        self.failures: list[Failure] = list(failures)
        self.requests: list[str] = []
        self._model = model
        self._provider = provider

    def response_for(self, text: str) -> FakeTTSResponse:
        return self.responses.get(text.strip(), self.default)

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> FakeChunkedStream:
        return FakeChunkedStream(self, text, conn_options=conn_options)

    def stream(
        self, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> FakeSynthesizeStream:
        if not self.capabilities.streaming:
            return super().stream(conn_options=conn_options)  # type: ignore[return-value]
        return FakeSynthesizeStream(self, conn_options=conn_options)

    async def _fail_if_scripted(self, hang_limit: float) -> None:
        await fail_if_scripted(self.failures, "FakeTTS", hang_limit)

    async def _speak(self, text: str, emitter: AudioEmitter) -> None:
        """The audio of ``text`` into the current segment of ``emitter``."""
        self.requests.append(text)
        response = self.response_for(text)
        await anyio.sleep(response.ttfb)
        if self.capabilities.aligned_transcript:
            emitter.push_timed_transcript(_timed_words(text, response, emitter.pushed_duration))
        rate = self.sample_rate
        frame_samples = max(1, round(self.frame_duration * rate))
        total = round(response.audio_duration * rate)
        sent = 0
        while sent < total:
            n = min(frame_samples, total - sent)
            await emitter.push_frame(self._frame(sent, n), delta_text=text if sent == 0 else "")
            sent += n

    def _frame(self, offset: int, samples: int) -> rtc.AudioFrame:
        channels = self.num_channels
        if self.tone_hz is None:
            return rtc.AudioFrame.create(self.sample_rate, channels, samples)
        t = (np.arange(samples) + offset) / self.sample_rate
        wave = (0.3 * 32767 * np.sin(2 * np.pi * self.tone_hz * t)).astype(np.int16)
        data = np.repeat(wave[:, None], channels, axis=1)
        return rtc.AudioFrame(data.tobytes(), self.sample_rate, channels, samples)


def _timed_words(text: str, response: FakeTTSResponse, start: float) -> list[TimedString]:
    """The words of ``text`` (the whitespace before each with it) at the response's times,
    from ``start`` seconds into the stream."""
    pieces = re.findall(r"\s*\S+", text)
    if not pieces:
        return []
    pieces[-1] += text[len("".join(pieces)) :]
    times = response.word_times
    if times is None:
        step = response.audio_duration / len(pieces)
        times = tuple((i * step, (i + 1) * step) for i in range(len(pieces)))
    if len(times) != len(pieces):
        raise ValueError(f"FakeTTSResponse.word_times has {len(times)} entries for {text!r}")
    return [
        TimedString(piece, start_time=start + s, end_time=start + e)
        for piece, (s, e) in zip(pieces, times, strict=True)
    ]


class FakeChunkedStream(ChunkedStream):
    """``FakeTTS.synthesize``: one response after its ttfb."""

    def __init__(self, fake: FakeTTS, text: str, *, conn_options: APIConnectOptions) -> None:
        super().__init__(
            tts=fake,
            input_text=text,
            conn_options=conn_options,
            frame_size_ms=round(fake.frame_duration * 1000),
        )
        self._fake = fake

    async def _synthesize(self, emitter: AudioEmitter) -> None:
        await self._fake._fail_if_scripted(float("inf"))
        await self._fake._speak(self.input_text, emitter)


class FakeSynthesizeStream(SynthesizeStream):
    """``FakeTTS.stream``: one response per segment; ``pushed_text`` records the input."""

    def __init__(self, fake: FakeTTS, *, conn_options: APIConnectOptions) -> None:
        super().__init__(
            tts=fake, conn_options=conn_options, frame_size_ms=round(fake.frame_duration * 1000)
        )
        self._fake = fake
        self.pushed_text: list[str] = []

    def push_text(self, token: str) -> None:
        super().push_text(token)
        self.pushed_text.append(token)

    async def _synthesize(self, input: TextInput, emitter: AudioEmitter) -> None:
        await self._fake._fail_if_scripted(self._conn_options.timeout)
        pending = ""
        async for item in input:
            if item is FLUSH:
                await self._segment(pending, emitter)
                pending = ""
            else:
                assert isinstance(item, str)
                pending += item
        await self._segment(pending, emitter)

    async def _segment(self, text: str, emitter: AudioEmitter) -> None:
        await anyio.lowlevel.checkpoint()
        if not text:
            return
        emitter.start_segment()
        await self._fake._speak(text, emitter)
        await emitter.end_segment()
