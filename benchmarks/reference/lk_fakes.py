"""Scripted providers for livekit-agents 1.8.9 (reference venv only), written against its
public base classes. They behave like ``vagent.testing``'s fakes, so both frameworks get the
same inputs:

- FakeLLM: replies chosen by a key (last user text, marked after a tool output); the text is
  cut into words, one chunk each, then one chunk with the tool calls; first chunk at ``ttft``,
  last at ``duration``, evenly in between; a usage chunk at ``duration``.
- FakeVAD: per speech, START_OF_SPEECH at ``start`` and END_OF_SPEECH at ``end + min_silence``;
  INFERENCE_DONE every ``update_interval`` (speaking or not) until the last end of speech.
- FakeSTT: START_OF_SPEECH at ``start``, FINAL_TRANSCRIPT at ``end + stt_delay``, then
  RECOGNITION_USAGE and END_OF_SPEECH.
- FakeTTS (streaming): one segment per flushed/ended text; after ``ttfb`` all of its audio
  (silence) in 20 ms frames (``frame_size_ms=None``: framed at the AudioEmitter's default).

All times are seconds from the stream's creation, on the event loop's clock.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from livekit import rtc
from livekit.agents import llm, stt, tts, vad
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, APIConnectOptions
from livekit.agents.utils import shortuuid

from benchmarks.workloads import spec

AFTER_TOOL = "#after_tool"


def _loop_time() -> float:
    return asyncio.get_running_loop().time()


# -- LLM --------------------------------------------------------------------------------------


def llm_key(chat_ctx: llm.ChatContext) -> str:
    items = chat_ctx.items
    text = ""
    for item in reversed(items):
        if item.type == "message" and item.role == "user":
            text = item.text_content or ""
            break
    after_tool = bool(items) and items[-1].type == "function_call_output"
    return text + (AFTER_TOOL if after_tool else "")


class FakeLLM(llm.LLM):
    def __init__(self, timing: spec.Timing, replies: tuple[spec.Reply, ...]) -> None:
        super().__init__()
        self.timing = timing
        self.script: dict[str, tuple[str, bool]] = {}
        for r in replies:
            if r.tool_call:
                self.script[r.input] = ("", True)
                self.script[r.input + AFTER_TOOL] = (r.text, False)
            else:
                self.script[r.input] = (r.text, False)
        self.requests = 0

    @property
    def model(self) -> str:
        return "fake-llm"

    @property
    def provider(self) -> str:
        return "fake"

    def chat(
        self,
        *,
        chat_ctx: llm.ChatContext,
        tools: list[Any] | None = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        **kwargs: Any,
    ) -> llm.LLMStream:
        self.requests += 1
        content, call = self.script.get(llm_key(chat_ctx), ("", False))
        return FakeLLMStream(
            self,
            chat_ctx=chat_ctx,
            tools=tools or [],
            conn_options=conn_options,
            content=content,
            call=call,
            request_id=f"fake_req_{self.requests}",
        )


class FakeLLMStream(llm.LLMStream):
    def __init__(
        self,
        fake: FakeLLM,
        *,
        chat_ctx: llm.ChatContext,
        tools: list[Any],
        conn_options: APIConnectOptions,
        content: str,
        call: bool,
        request_id: str,
    ) -> None:
        super().__init__(fake, chat_ctx=chat_ctx, tools=tools, conn_options=conn_options)
        self._fake = fake
        self._content = content
        self._call = call
        self._request_id = request_id

    async def _run(self) -> None:
        timing = self._fake.timing
        start = _loop_time()
        pieces = re.findall(r"\S+\s*|\s+", self._content)
        deltas = [llm.ChoiceDelta(role="assistant", content=p) for p in pieces]
        if self._call:
            call = llm.FunctionToolCall(
                name=spec.TOOL_NAME,
                arguments=spec.to_json(spec.TOOL_ARGUMENTS),
                call_id=f"{self._request_id}_call_1",
            )
            deltas.append(llm.ChoiceDelta(role="assistant", tool_calls=[call]))
        span = timing.llm_duration - timing.llm_ttft
        step = span / (len(deltas) - 1) if len(deltas) > 1 else 0.0
        for n, delta in enumerate(deltas):
            await _sleep_until(start + timing.llm_ttft + n * step)
            self._event_ch.send_nowait(llm.ChatChunk(id=self._request_id, delta=delta))
        await _sleep_until(start + timing.llm_duration)
        completion = len(deltas)
        usage = llm.CompletionUsage(
            completion_tokens=completion, prompt_tokens=0, total_tokens=completion
        )
        self._event_ch.send_nowait(llm.ChatChunk(id=self._request_id, usage=usage))


async def _sleep_until(deadline: float) -> None:
    await asyncio.sleep(max(0.0, deadline - _loop_time()))


# -- VAD --------------------------------------------------------------------------------------


class FakeVAD(vad.VAD):
    def __init__(self, speeches: list[spec.Speech], timing: spec.Timing) -> None:
        super().__init__(
            capabilities=vad.VADCapabilities(update_interval=timing.vad_update_interval)
        )
        self.speeches = sorted(speeches, key=lambda s: s.start)
        self.timing = timing
        self.opened_at: list[float] = []

    def stream(self) -> vad.VADStream:
        return FakeVADStream(self)


class FakeVADStream(vad.VADStream):
    def __init__(self, fake: FakeVAD) -> None:
        self._fake = fake
        fake.opened_at.append(_loop_time())
        super().__init__(fake)

    async def _main_task(self) -> None:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._drain())
            await self._script()

    async def _drain(self) -> None:
        async for _ in self._input_ch:
            pass

    def _send(self, kind: vad.VADEventType, t: float, speech: spec.Speech) -> None:
        speaking = speech.start <= t < speech.end or kind == vad.VADEventType.START_OF_SPEECH
        in_speech = speaking or (
            kind == vad.VADEventType.END_OF_SPEECH
            or (speech.end <= t < speech.end + self._fake.timing.vad_min_silence)
        )
        self._event_ch.send_nowait(
            vad.VADEvent(
                type=kind,
                samples_index=0,
                timestamp=t,
                speech_duration=max(0.0, min(t, speech.end) - speech.start) if in_speech else 0.0,
                silence_duration=max(0.0, t - speech.end),
                probability=1.0 if speech.start <= t < speech.end else 0.0,
                speaking=speaking,
            )
        )

    async def _script(self) -> None:
        t0 = self._fake.opened_at[-1]
        for at, kind, speech in self._schedule():
            await _sleep_until(t0 + at)
            self._send(kind, at, speech)

    def _schedule(self) -> list[tuple[float, vad.VADEventType, spec.Speech]]:
        """START/END_OF_SPEECH per speech, INFERENCE_DONE every update interval (speaking or
        not) until the last end of speech, in time order (as vagent's FakeVAD)."""
        interval = self._fake.timing.vad_update_interval
        silence = self._fake.timing.vad_min_silence
        events: list[tuple[float, int, vad.VADEventType, spec.Speech]] = []
        last = 0.0
        for speech in self._fake.speeches:
            events.append((speech.start, 1, vad.VADEventType.START_OF_SPEECH, speech))
            events.append((speech.end + silence, 1, vad.VADEventType.END_OF_SPEECH, speech))
            last = max(last, speech.end + silence)
        n = 1
        while n * interval <= last + 1e-9:
            t = round(n * interval, 9)
            current = max(
                (s for s in self._fake.speeches if s.start <= t),
                key=lambda s: s.start,
                default=self._fake.speeches[0],
            )
            events.append((t, 0, vad.VADEventType.INFERENCE_DONE, current))
            n += 1
        events.sort(key=lambda e: (e[0], e[1]))
        return [(at, kind, speech) for at, _, kind, speech in events]


# -- STT --------------------------------------------------------------------------------------


class FakeSTT(stt.STT):
    def __init__(self, speeches: list[spec.Speech], timing: spec.Timing) -> None:
        super().__init__(capabilities=stt.STTCapabilities(streaming=True, interim_results=False))
        self.speeches = sorted(speeches, key=lambda s: s.start)
        self.timing = timing

    async def _recognize_impl(self, buffer: Any, *, language: Any, conn_options: Any) -> Any:
        raise NotImplementedError("streaming only")

    def stream(
        self,
        *,
        language: Any = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        **kwargs: Any,
    ) -> stt.RecognizeStream:
        return FakeRecognizeStream(self, conn_options=conn_options)


class FakeRecognizeStream(stt.RecognizeStream):
    def __init__(self, fake: FakeSTT, *, conn_options: APIConnectOptions) -> None:
        self._t0 = _loop_time()
        super().__init__(stt=fake, conn_options=conn_options)
        self._fake = fake

    async def _run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._drain())
            await self._script()

    async def _drain(self) -> None:
        async for _ in self._input_ch:
            pass

    async def _script(self) -> None:
        for speech in self._fake.speeches:
            await _sleep_until(self._t0 + speech.start)
            self._event_ch.send_nowait(stt.SpeechEvent(type=stt.SpeechEventType.START_OF_SPEECH))
            await _sleep_until(self._t0 + speech.end + self._fake.timing.stt_delay)
            data = stt.SpeechData(
                language="en", text=speech.text, start_time=speech.start, end_time=speech.end
            )
            self._event_ch.send_nowait(
                stt.SpeechEvent(type=stt.SpeechEventType.FINAL_TRANSCRIPT, alternatives=[data])
            )
            self._event_ch.send_nowait(
                stt.SpeechEvent(
                    type=stt.SpeechEventType.RECOGNITION_USAGE,
                    recognition_usage=stt.RecognitionUsage(
                        audio_duration=speech.end - speech.start
                    ),
                )
            )
            self._event_ch.send_nowait(stt.SpeechEvent(type=stt.SpeechEventType.END_OF_SPEECH))


# -- TTS --------------------------------------------------------------------------------------


class FakeTTS(tts.TTS):
    def __init__(
        self,
        timing: spec.Timing,
        replies: tuple[spec.Reply, ...],
        *,
        frame_size_ms: int | None = 20,
    ) -> None:
        super().__init__(
            capabilities=tts.TTSCapabilities(streaming=True), sample_rate=24000, num_channels=1
        )
        self.timing = timing
        self.durations = {r.text: r.audio for r in replies}
        self.frame_size_ms = frame_size_ms  # None: the AudioEmitter's default

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> tts.ChunkedStream:
        raise NotImplementedError("streaming only")

    def stream(
        self, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> tts.SynthesizeStream:
        return FakeSynthesizeStream(self, conn_options=conn_options)


class FakeSynthesizeStream(tts.SynthesizeStream):
    def __init__(self, fake: FakeTTS, *, conn_options: APIConnectOptions) -> None:
        super().__init__(tts=fake, conn_options=conn_options)
        self._fake = fake

    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        size = self._fake.frame_size_ms
        framing = {} if size is None else {"frame_size_ms": size}
        output_emitter.initialize(
            request_id=shortuuid("fake_tts_"),
            sample_rate=self._fake.sample_rate,
            num_channels=1,
            mime_type="audio/pcm",
            stream=True,
            **framing,
        )
        pending = ""
        async for item in self._input_ch:
            if isinstance(item, str):
                pending += item
            elif pending:
                await self._segment(pending, output_emitter)
                pending = ""
        if pending:
            await self._segment(pending, output_emitter)

    async def _segment(self, text: str, emitter: tts.AudioEmitter) -> None:
        emitter.start_segment(segment_id=shortuuid("fake_segment_"))
        self._mark_started()
        await asyncio.sleep(self._fake.timing.tts_ttfb)
        rate = self._fake.sample_rate
        total = round(self._fake.durations.get(text.strip(), 0.3) * rate)
        step = rate // 50
        sent = 0
        while sent < total:
            n = min(step, total - sent)
            emitter.push_frame(rtc.AudioFrame.create(rate, 1, n))
            sent += n
        emitter.end_segment()
