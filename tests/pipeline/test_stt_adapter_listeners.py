"""An stt.StreamAdapter leaves no listener on the (shared) STT it wraps once it is not in use."""

from __future__ import annotations

import gc
import weakref

import anyio
from pipeline_helpers import push_live, silence

from vagent.pipeline import stt as stt_mod
from vagent.pipeline.stt import SpeechEventType
from vagent.testing.fake_stt import FakeSTT
from vagent.testing.fake_vad import FakeUserSpeech, FakeVAD

SPEECH = FakeUserSpeech(start_time=0.5, end_time=1.5, transcript="hello", stt_delay=0.2)


async def _use(adapter: stt_mod.StreamAdapter) -> list[str]:
    texts: list[str] = []
    async with adapter.stream() as stream, anyio.create_task_group() as tg:
        tg.start_soon(push_live, stream, silence(3.0))
        async for event in stream:
            if event.type is SpeechEventType.FINAL_TRANSCRIPT:
                texts.append(event.alternatives[0].text)
    return texts


async def test_adapters_on_a_shared_stt_are_released_after_use(autojump_clock: object) -> None:
    shared = FakeSTT([SPEECH] * 5, streaming=False)
    forwarded: list[object] = []
    refs = []
    for _ in range(5):  # one adapter per session or handoff
        adapter = stt_mod.StreamAdapter(stt=shared, vad=FakeVAD([SPEECH]))
        adapter.on("metrics_collected", forwarded.append)
        assert await _use(adapter) == ["hello"]
        refs.append(weakref.ref(adapter))
    assert len(forwarded) == 5  # each adapter forwarded its own request's metrics while in use
    del adapter
    gc.collect()
    assert [r() for r in refs] == [None] * 5  # nothing on the shared STT keeps them alive

    # an idle adapter forwards nothing the shared STT does for others
    idle = stt_mod.StreamAdapter(stt=shared, vad=FakeVAD())
    idle.on("metrics_collected", forwarded.append)
    await shared.recognize(silence(0.5))
    assert len(forwarded) == 5
    # while it is used, it forwards
    await idle.recognize(silence(0.5))
    assert len(forwarded) == 6
