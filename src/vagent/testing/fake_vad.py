"""A scripted VAD for tests: user speech is given as times, not analysed from audio.

It is a producer-task VAD (its events follow a timer, not the audio): its task reads the
pushed audio from the stream's input buffer to record it.

Times are seconds relative to the moment a stream is opened. For each
:class:`FakeUserSpeech` the stream emits START_OF_SPEECH at ``start_time +
min_speech_duration`` and END_OF_SPEECH at ``end_time + min_silence_duration`` (carrying
``silence_duration = min_silence_duration`` and ``speech_duration = end - start``), plus
INFERENCE_DONE every ``update_interval`` seconds. Pushed frames are consumed and counted
(never inspected); END_OF_SPEECH carries the frames pushed during the speech. The stream
ends when the script is done and the input has ended.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import anyio
import anyio.lowlevel
from anyio.streams.memory import MemoryObjectSendStream
from attrs import define, frozen
from livekit import rtc

from vagent._core import ValidationError
from vagent.pipeline._audio_buffer import AudioInput, AudioInputBuffer
from vagent.pipeline.vad import VAD, VADCapabilities, VADEvent, VADEventType, VADStream

__all__ = [
    "FakeUserSpeech",
    "FakeVAD",
    "FakeVADStream",
    "FakeVADStreamRecord",
    "consume_input_until",
    "sleep_until_finite",
]


@frozen(kw_only=True)
class FakeUserSpeech:
    """One scripted utterance: when the user speaks (seconds from stream open), what they say,
    how long the STT takes after the end of speech, and optional interim transcripts
    (emitted evenly spaced during the speech)."""

    start_time: float
    end_time: float
    transcript: str
    stt_delay: float = 0.2
    interim_transcripts: tuple[str, ...] = ()

    def __attrs_post_init__(self) -> None:
        if self.start_time < 0 or self.end_time <= self.start_time:
            raise ValidationError(
                "FakeUserSpeech needs 0 <= start_time < end_time, got "
                f"{self.start_time}..{self.end_time}"
            )
        if self.stt_delay < 0:
            raise ValidationError(f"FakeUserSpeech stt_delay must be >= 0, got {self.stt_delay}")


@define
class FakeVADStreamRecord:
    """What one FakeVAD stream received."""

    opened_at: float
    frames_received: int = 0
    audio_duration_received: float = 0.0
    flushes: int = 0
    input_ended: bool = False


async def consume_input_until(
    input: AudioInputBuffer,
    deadline: float,
    on_item: Callable[[AudioInput], None],
) -> bool:
    """Consume pushed input until ``deadline`` (loop time); True when the input has ended.

    What is already buffered is taken without waiting; a deadline only guards the waits.
    """
    await anyio.lowlevel.checkpoint()
    try:
        while True:
            while True:
                try:
                    on_item(input.receive_nowait())
                except anyio.WouldBlock:
                    break
            if anyio.current_time() >= deadline:
                return False
            with anyio.move_on_at(deadline):
                on_item(await input.receive())
    except anyio.EndOfStream:
        return True


async def sleep_until_finite(deadline: float) -> None:
    """Sleep until ``deadline``; an infinite deadline means "do not wait"."""
    if deadline == float("inf"):
        await anyio.lowlevel.checkpoint()
    else:
        await anyio.sleep_until(deadline)


class FakeVAD(VAD):
    """See the module docstring. ``streams`` records each stream's input."""

    def __init__(
        self,
        speeches: Sequence[FakeUserSpeech] = (),
        *,
        min_speech_duration: float = 0.0,
        min_silence_duration: float = 0.5,
        update_interval: float = 0.1,
    ) -> None:
        super().__init__(capabilities=VADCapabilities(update_interval=update_interval))
        self.speeches = sorted(speeches, key=lambda s: s.start_time)
        self.min_speech_duration = min_speech_duration
        self.min_silence_duration = min_silence_duration
        self.streams: list[FakeVADStreamRecord] = []

    def stream(self) -> FakeVADStream:
        return FakeVADStream(self)


class FakeVADStream(VADStream):
    """A stream of :class:`FakeVAD`: follows the script in loop time."""

    def __init__(self, vad: FakeVAD) -> None:
        super().__init__(vad)
        self._fake = vad

    async def _run(self, input: AudioInputBuffer, output: MemoryObjectSendStream[VADEvent]) -> None:
        t0 = anyio.current_time()
        record = FakeVADStreamRecord(opened_at=t0)
        self._fake.streams.append(record)
        speech_frames: list[rtc.AudioFrame] = []
        speaking = False

        def on_item(item: AudioInput) -> None:
            if isinstance(item, rtc.AudioFrame):
                record.frames_received += 1
                record.audio_duration_received += item.duration
                if speaking:
                    speech_frames.append(item)
            else:
                record.flushes += 1

        async def receive_until(deadline: float) -> None:
            if not record.input_ended:
                record.input_ended = await consume_input_until(input, deadline, on_item)
            await sleep_until_finite(deadline)

        for at, kind, speech in self._schedule():
            await receive_until(t0 + at)
            now = anyio.current_time() - t0
            if kind is VADEventType.START_OF_SPEECH:
                speaking = True
                speech_frames = []
                event = self._event(kind, now, speech, speaking=True, frames=[])
            elif kind is VADEventType.END_OF_SPEECH:
                speaking = False
                event = self._event(kind, now, speech, speaking=False, frames=speech_frames)
                speech_frames = []
            else:
                event = self._event(kind, now, speech, speaking=speaking, frames=[])
            await output.send(event)
        await receive_until(float("inf"))

    def _schedule(self) -> list[tuple[float, VADEventType, FakeUserSpeech | None]]:
        fake = self._fake
        events: list[tuple[float, int, VADEventType, FakeUserSpeech | None]] = []
        last = 0.0
        for speech in fake.speeches:
            start = speech.start_time + fake.min_speech_duration
            end = speech.end_time + fake.min_silence_duration
            events.append((start, 1, VADEventType.START_OF_SPEECH, speech))
            events.append((end, 1, VADEventType.END_OF_SPEECH, speech))
            last = max(last, end)
        interval = fake.capabilities.update_interval
        if interval > 0:
            n = 1
            while n * interval <= last + 1e-9:
                events.append((round(n * interval, 9), 0, VADEventType.INFERENCE_DONE, None))
                n += 1
        events.sort(key=lambda e: (e[0], e[1]))
        return [(at, kind, speech) for at, _, kind, speech in events]

    def _event(
        self,
        kind: VADEventType,
        now: float,
        speech: FakeUserSpeech | None,
        *,
        speaking: bool,
        frames: list[rtc.AudioFrame],
    ) -> VADEvent:
        current = speech or self._speech_at(now)
        speech_duration = silence = 0.0
        probability = 0.0
        if current is not None:
            speech_duration = max(0.0, min(now, current.end_time) - current.start_time)
            silence = max(0.0, now - current.end_time)
            probability = 1.0 if current.start_time <= now < current.end_time else 0.0
        if kind is VADEventType.END_OF_SPEECH:
            silence = self._fake.min_silence_duration
        elif not speaking:
            speech_duration = 0.0
        return VADEvent(
            type=kind,
            timestamp=anyio.current_time(),
            speech_duration=speech_duration,
            silence_duration=silence,
            probability=probability,
            speaking=speaking,
            frames=frames,
        )

    def _speech_at(self, now: float) -> FakeUserSpeech | None:
        current = None
        for speech in self._fake.speeches:
            if speech.start_time <= now:
                current = speech
        return current
