"""The public API: every exported name resolves, is documented, and is exported once."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys

import pytest

import vagent

NAMESPACES = [
    "vagent",
    "vagent.llm",
    "vagent.stt",
    "vagent.tts",
    "vagent.vad",
    "vagent.tokenize",
    "vagent.pipeline.text_transforms",
    "vagent.llm.mcp",
    "vagent.plugins.openai.tools",
    "vagent.metrics",
    "vagent.io",
    "vagent.utils",
    "vagent.utils.images",
    "vagent.session",
    "vagent.worker",
    "vagent.rtc",
    "vagent.mixer",
    "vagent.testing",
    "vagent.api",
    "vagent.transports.websocket",
    "vagent.beta.workflows",
    "vagent.beta.workflows.utils",
]


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_every_exported_name_resolves_once_and_is_documented(namespace: str) -> None:
    module = importlib.import_module(namespace)
    names = list(module.__all__)
    assert len(names) == len(set(names)), f"{namespace}.__all__ lists a name twice"
    undocumented = []
    for name in names:
        value = getattr(module, name)
        if (inspect.isclass(value) or inspect.isfunction(value)) and not inspect.getdoc(value):
            undocumented.append(name)
    assert not undocumented, f"{namespace}: undocumented public names {undocumented}"


def test_seed_names_port_by_changing_imports() -> None:
    # the top-level names of livekit.agents that an agent file typically imports
    seed_names = [
        "Agent",
        "AgentSession",
        "AgentState",
        "APIConnectOptions",
        "APIConnectionError",
        "APIError",
        "APIStatusError",
        "APITimeoutError",
        "AssignmentTimeoutError",
        "AutoSubscribe",
        "BackgroundAudio",
        "ChatContext",
        "ChatMessage",
        "FunctionCall",
        "FunctionCallOutput",
        "FunctionTool",
        "JobContext",
        "JobExecutorType",
        "JobProcess",
        "JobRequest",
        "ModelSettings",
        "NotGiven",
        "Plugin",
        "RoomIO",
        "RoomInputOptions",
        "RoomOutputOptions",
        "RunContext",
        "Worker",
        "WorkerOptions",
        "WorkerPermissions",
        "WorkerType",
        "function_tool",
        "get_job_context",
        "llm",
        "stt",
        "tts",
        "vad",
        "tokenize",
        "metrics",
        "cli",
    ]
    missing = [name for name in seed_names if not hasattr(vagent, name)]
    assert not missing
    assert set(seed_names) <= set(vagent.__all__) | {"cli"}


def test_unknown_name_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = vagent.Nope  # type: ignore[attr-defined]


def test_importing_the_session_does_not_load_the_worker_or_rtc() -> None:
    code = (
        "import sys; from vagent import Agent, AgentSession, function_tool; "
        "heavy = [m for m in ('trio_websocket', 'hypercorn', 'vagent.worker', 'vagent.rtc') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=60
    ).stdout.strip()
    assert out == "[]"
