"""Every public name of vagent.session is exported once and documented."""

from __future__ import annotations

import inspect

import vagent.session as session


def test_exports_are_unique_and_documented() -> None:
    names = session.__all__
    assert len(names) == len(set(names))
    for name in names:
        value = getattr(session, name)
        if inspect.isclass(value) or inspect.isfunction(value) or inspect.ismodule(value):
            assert inspect.getdoc(value), f"vagent.session.{name} has no docstring"


def test_livekit_names_are_present() -> None:
    for name in [
        "Agent",
        "AgentSession",
        "AgentState",
        "CloseReason",
        "ModelSettings",
        "RunContext",
        "SpeechHandle",
        "AgentStateChangedEvent",
        "UserStateChangedEvent",
        "UserInputTranscribedEvent",
        "ConversationItemAddedEvent",
        "FunctionToolsExecutedEvent",
        "MetricsCollectedEvent",
        "SpeechCreatedEvent",
        "AgentFalseInterruptionEvent",
        "ErrorEvent",
        "CloseEvent",
        "RunResult",
        "mock_tools",
    ]:
        assert name in session.__all__
