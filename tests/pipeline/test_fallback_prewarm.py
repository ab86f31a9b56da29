"""stt/tts FallbackAdapter.prewarm() prewarms the primary provider (as livekit-agents does)."""

from __future__ import annotations

from vagent.pipeline import stt as stt_mod, tts as tts_mod
from vagent.testing.fake_stt import FakeSTT
from vagent.testing.fake_tts import FakeTTS


class PrewarmableTTS(FakeTTS):
    prewarmed = 0

    def prewarm(self) -> None:
        self.prewarmed += 1


class PrewarmableSTT(FakeSTT):
    prewarmed = 0

    def prewarm(self) -> None:
        self.prewarmed += 1


def test_tts_fallback_prewarms_the_primary() -> None:
    primary, backup = PrewarmableTTS(), PrewarmableTTS()
    tts_mod.FallbackAdapter([primary, backup]).prewarm()
    assert (primary.prewarmed, backup.prewarmed) == (1, 0)


def test_stt_fallback_prewarms_the_primary() -> None:
    primary, backup = PrewarmableSTT(), PrewarmableSTT()
    stt_mod.FallbackAdapter([primary, backup]).prewarm()
    assert (primary.prewarmed, backup.prewarmed) == (1, 0)
