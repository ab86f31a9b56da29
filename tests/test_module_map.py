"""The module map: livekit.agents' submodule paths under ``vagent`` offer the names vagent
has, as the very objects of the modules that define them (imported on first use)."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import vagent

ALIASES = [
    "vagent.voice",
    "vagent.voice.agent",
    "vagent.voice.events",
    "vagent.voice.io",
    "vagent.voice.room_io",
    "vagent.voice.run_result",
    "vagent.voice.speech_handle",
    "vagent.job",
    "vagent.types",
    "vagent.room_io",
    "vagent.llm.chat_context",
    "vagent.llm.tool_context",
    "vagent.utils.audio",
    "vagent.utils.images",
    "vagent.beta",
]


@pytest.mark.parametrize("path", ALIASES)
def test_every_name_of_a_mapped_module_resolves_once(path: str) -> None:
    module = importlib.import_module(path)
    names = list(module.__all__)
    assert len(names) == len(set(names)), f"{path}.__all__ lists a name twice"
    for name in names:
        value = getattr(module, name)
        assert value is not None, f"{path}.{name}"
    assert set(names) <= set(dir(module))
    with pytest.raises(AttributeError, match="NoSuchName"):
        _ = module.NoSuchName


def test_mapped_names_are_the_defining_modules_objects() -> None:
    from vagent.job import JobContext
    from vagent.llm.chat_context import ChatContext
    from vagent.types import NOT_GIVEN
    from vagent.voice import AgentSession, AgentTask
    from vagent.voice.room_io import RoomInputOptions

    assert AgentSession is vagent.AgentSession
    assert AgentTask is vagent.AgentTask
    assert JobContext is vagent.JobContext
    assert ChatContext is vagent.ChatContext
    assert NOT_GIVEN is vagent.NOT_GIVEN
    assert RoomInputOptions is vagent.RoomInputOptions


def test_livekit_top_level_modules_are_reachable_from_vagent() -> None:
    from vagent import api, mcp, text_transforms, voice

    assert mcp.__name__ == "vagent.llm.mcp"
    assert text_transforms.__name__ == "vagent.pipeline.text_transforms"
    assert voice.Agent is vagent.Agent
    assert api.LiveKitAPI is not None


def test_importing_the_voice_path_loads_neither_the_worker_nor_rtc() -> None:
    code = (
        "import sys; from vagent.voice import Agent, AgentSession; "
        "import vagent.job, vagent.voice.room_io; "
        "print(sorted(m for m in ('vagent.worker', 'vagent.rtc') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert out.strip() == "[]"
