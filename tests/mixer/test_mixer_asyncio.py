"""The mixer layer uses anyio only: the same scenarios run on asyncio."""

from __future__ import annotations

from pathlib import Path

import anyio
import numpy as np
import pytest
import soundfile as sf
from mixer_fakes import BLOCK, ArraySource, FakeSession, RecordingSink, constant, samples_of

from vagent.mixer import AudioConfig, AudioMixer, BackgroundAudio, InputEnd


def test_mixer_on_asyncio() -> None:
    async def main() -> None:
        broken = ArraySource(constant(1000, 1), endless=True, fail_after=2)
        async with AudioMixer(48000, 1, blocksize=BLOCK) as mixer:
            mixer.add_stream(ArraySource(constant(100, 5)))
            failed = mixer.add_stream(broken)
            mixer.end_input()
            out = samples_of([f async for f in mixer])
            assert await failed.wait_finished() is InputEnd.FAILED
        assert out.tolist() == [1100] * 2 * BLOCK + [100] * 3 * BLOCK

    anyio.run(main, backend="asyncio")


@pytest.mark.slow
@pytest.mark.timeout(30)
def test_background_audio_on_asyncio(tmp_path: Path) -> None:
    clip = np.full(4800, 2000, dtype=np.int16)
    path = tmp_path / "clip.wav"
    sf.write(path, clip, 48000, subtype="PCM_16")

    async def main() -> None:
        session = FakeSession()
        sink = RecordingSink(realtime=False)
        thinking = ArraySource(constant(10, 1), endless=True)
        bg = BackgroundAudio(
            ambient_sound=AudioConfig(str(path), volume=0.5),
            thinking_sound=thinking,
            stream_timeout=5,
        )
        async with bg:
            await bg.start(output=sink, agent_session=session)
            with anyio.fail_after(10):
                await sink.wait_for_frames(20)
            session.set_state("thinking")
            with anyio.fail_after(10):
                await sink.wait_for_frames(len(sink.frames) + 20)
            session.set_state("listening")
        values = set(samples_of(sink.frames).tolist())
        assert values == {1000, 1010}
        assert thinking.closed

    anyio.run(main, backend="asyncio")
