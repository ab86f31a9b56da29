"""livekit-agents' tests/test_vad.py, ported to vagent's offline SileroVAD.

Genuine differences: livekit runs its recording tests/change-sophie.wav through
``inference.VAD(model="silero")``; that file is not available here (a Git LFS object), so
the speech is piper's, between two seconds of silence, resampled to each rate. The debug
WAV files livekit's test_chunks_vad writes are not written.

Left out: test_vad_uses_configured_executor and
test_vad_uses_owned_single_thread_executor_by_default (vagent's silero runs inline, no
executor), test_plugin_checkpoint_matches_inference_vad (livekit's two copies of the model).
"""

from __future__ import annotations

import pytest
import trio
from livekit import rtc

from vagent.pipeline.audio import AudioByteStream, combine_frames
from vagent.pipeline.vad import VADEvent, VADEventType, VADStream
from vagent.plugins.local import PiperTTS, SileroVAD

pytestmark = [pytest.mark.slow, pytest.mark.local_models, pytest.mark.timeout(120)]

SAMPLE_RATES = [16000, 44100]  # several input sample rates, as livekit's test


@pytest.fixture(scope="module")
def speech() -> rtc.AudioFrame:
    """Piper's speech between two seconds of silence, as one frame."""

    async def make() -> rtc.AudioFrame:
        piper = PiperTTS.load()
        async with piper.synthesize("Good morning. How are you today? I am fine.") as stream:
            said = combine_frames([a.frame async for a in stream])
        rate = said.sample_rate
        pcm = bytes(2 * rate * 2) + bytes(said.data.cast("B")) + bytes(2 * rate * 2)
        return rtc.AudioFrame(pcm, rate, 1, len(pcm) // 2)

    return trio.run(make)


def at_rate(frame: rtc.AudioFrame, rate: int) -> rtc.AudioFrame:
    resampler = rtc.AudioResampler(frame.sample_rate, rate)
    return combine_frames(resampler.push(frame) + resampler.flush())


def chunks(frame: rtc.AudioFrame, ms: int = 10) -> list[rtc.AudioFrame]:
    framer = AudioByteStream(frame.sample_rate, 1, frame.sample_rate * ms // 1000)
    return framer.push(bytes(frame.data.cast("B"))) + framer.flush()


def vad() -> SileroVAD:
    return SileroVAD.load(min_speech_duration=0.5, min_silence_duration=0.75)


def counts(events: list[VADEvent]) -> tuple[int, int]:
    kinds = [e.type for e in events]
    return kinds.count(VADEventType.START_OF_SPEECH), kinds.count(VADEventType.END_OF_SPEECH)


@pytest.mark.parametrize("sample_rate", SAMPLE_RATES)
async def test_chunks_vad(speech: rtc.AudioFrame, sample_rate: int) -> None:
    frames = chunks(at_rate(speech, sample_rate))
    assert len(frames) > 1, "frames aren't chunked"
    async with vad().stream() as stream:
        for frame in frames:
            stream.push_frame(frame)
        stream.end_input()
        events = [e async for e in stream]
    starts, ends = counts(events)
    assert starts > 0, "no start of speech detected"
    assert starts == ends, "start and end of speech mismatch"
    inference = [e for e in events if e.type is VADEventType.INFERENCE_DONE]
    assert inference


@pytest.mark.parametrize("sample_rate", SAMPLE_RATES)
async def test_file_vad(speech: rtc.AudioFrame, sample_rate: int) -> None:
    async with vad().stream() as stream:
        stream.push_frame(at_rate(speech, sample_rate))  # the whole audio in one frame
        stream.end_input()
        events = [e async for e in stream]
    starts, ends = counts(events)
    assert starts > 0, "no start of speech detected"
    assert starts == ends, "start and end of speech mismatch"


async def drain_speech_segment(
    stream: VADStream, frames: list[rtc.AudioFrame]
) -> tuple[VADEvent, VADEvent]:
    """Push ``frames`` as a live source until a START_OF_SPEECH and an END_OF_SPEECH came."""
    found: list[VADEvent] = []
    async with trio.open_nursery() as nursery:

        async def pump() -> None:
            for frame in frames:
                stream.push_frame(frame)
                await trio.lowlevel.checkpoint()

        nursery.start_soon(pump)
        async for ev in stream:
            if ev.type is VADEventType.START_OF_SPEECH and not found:
                found.append(ev)
            elif ev.type is VADEventType.END_OF_SPEECH and found:
                found.append(ev)
                nursery.cancel_scope.cancel()
                break
    assert len(found) == 2, "stream ended before END_OF_SPEECH"
    return found[0], found[1]


# livekit's test is at 16 kHz; 44.1 kHz also checks that resampling goes on after a flush
@pytest.mark.parametrize("sample_rate", SAMPLE_RATES)
async def test_reset_recovers_full_speech_segment(speech: rtc.AudioFrame, sample_rate: int) -> None:
    """Real speech still gives a whole START/END_OF_SPEECH cycle after a flush."""
    frames = chunks(at_rate(speech, sample_rate))
    async with vad().stream() as stream:
        first_start, first_end = await drain_speech_segment(stream, frames)
        assert first_start.type is VADEventType.START_OF_SPEECH
        assert first_end.type is VADEventType.END_OF_SPEECH

        stream.flush()

        second_start, second_end = await drain_speech_segment(stream, frames)
        assert second_start.type is VADEventType.START_OF_SPEECH
        assert second_end.type is VADEventType.END_OF_SPEECH
