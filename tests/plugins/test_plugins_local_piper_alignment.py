"""Piper voices patched to output their phoneme durations without the onnx package."""

from __future__ import annotations

import logging
from pathlib import Path

import onnxruntime
import pytest

from vagent.plugins.local import PiperTTS, _piper
from vagent.plugins.local._piper import default_voice_paths
from vagent.plugins.local._piper_alignment import NotAVoiceModel, with_alignment_output

pytestmark = [pytest.mark.slow, pytest.mark.local_models, pytest.mark.timeout(60)]


def outputs(model: bytes) -> list[str]:
    session = onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"])
    return [output.name for output in session.get_outputs()]


def test_the_voice_gains_its_phoneme_durations_as_a_second_output() -> None:
    model = default_voice_paths()[0].read_bytes()
    patched = with_alignment_output(model)
    assert outputs(patched) == ["output", "/Ceil_output_0"]
    assert len(patched) == len(model) + len("/Ceil_output_0") + 4
    assert with_alignment_output(patched) == patched  # patched already: as is


@pytest.mark.parametrize("junk", [b"", b"\x08\x01", b"not a model at all", b"\x3a\x05ab"])
def test_other_bytes_are_refused(junk: bytes) -> None:
    with pytest.raises(NotAVoiceModel):
        with_alignment_output(junk)


def test_a_voice_patched_on_disk_is_used_as_is(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    model, config = default_voice_paths()
    patched = tmp_path / "voice.onnx"
    patched.write_bytes(with_alignment_output(model.read_bytes()))
    with caplog.at_level(logging.WARNING, logger="vagent.plugins.local"):
        tts = PiperTTS.load(model_path=patched, config_path=config)
    assert tts.word_timings
    assert caplog.text == ""


def test_a_model_that_cannot_be_patched_loads_with_sentence_timings(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse(model: bytes) -> bytes:
        raise NotAVoiceModel("expected one Ceil tensor, found []")

    monkeypatch.setattr(_piper, "with_alignment_output", refuse)
    with caplog.at_level(logging.WARNING, logger="vagent.plugins.local"):
        tts = PiperTTS.load()
    assert not tts.word_timings
    assert "not patched for word timings" in caplog.text
