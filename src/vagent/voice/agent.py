"""``livekit.agents.voice.agent`` names: agents, tasks, model settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vagent._core.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from vagent.session import (
        Agent as Agent,
        AgentTask as AgentTask,
        ModelSettings as ModelSettings,
    )

_EXPORTS = {
    "Agent": "vagent.session",
    "AgentTask": "vagent.session",
    "ModelSettings": "vagent.session",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "Agent",
    "AgentTask",
    "ModelSettings",
]
