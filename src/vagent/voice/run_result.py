"""``livekit.agents.voice.run_result`` names: the test API of ``session.run()``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vagent._core.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from vagent.session import (
        AgentHandoffEvent as AgentHandoffEvent,
        ChatMessageEvent as ChatMessageEvent,
        EventAssert as EventAssert,
        FunctionCallEvent as FunctionCallEvent,
        FunctionCallOutputEvent as FunctionCallOutputEvent,
        RunAssert as RunAssert,
        RunEvent as RunEvent,
        RunResult as RunResult,
        mock_tools as mock_tools,
    )

_EXPORTS = {
    "AgentHandoffEvent": "vagent.session",
    "ChatMessageEvent": "vagent.session",
    "EventAssert": "vagent.session",
    "FunctionCallEvent": "vagent.session",
    "FunctionCallOutputEvent": "vagent.session",
    "RunAssert": "vagent.session",
    "RunEvent": "vagent.session",
    "RunResult": "vagent.session",
    "mock_tools": "vagent.session",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "AgentHandoffEvent",
    "ChatMessageEvent",
    "EventAssert",
    "FunctionCallEvent",
    "FunctionCallOutputEvent",
    "RunAssert",
    "RunEvent",
    "RunResult",
    "mock_tools",
]
