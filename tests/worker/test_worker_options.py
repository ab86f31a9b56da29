"""WorkerOptions: defaults per mode, validation, credentials."""

from __future__ import annotations

import math
from typing import Any

import pytest

from vagent._core import ValidationError
from vagent.worker.options import (
    DEFAULT_WS_URL,
    JobExecutorType,
    WorkerEnvOption,
    WorkerOptions,
    WorkerPermissions,
    WorkerType,
)


async def entry(ctx: Any) -> None:
    return None


def test_defaults_follow_livekit_agents() -> None:
    opts = WorkerOptions(entrypoint_fnc=entry)
    assert opts.job_executor_type is JobExecutorType.PROCESS
    assert opts.worker_type is WorkerType.ROOM
    assert opts.max_retry == 16
    assert opts.ws_url == DEFAULT_WS_URL
    assert opts.shutdown_process_timeout == 60.0
    assert opts.initialize_process_timeout == 10.0
    assert opts.job_memory_warn_mb == 500
    assert opts.permissions == WorkerPermissions()
    assert WorkerEnvOption.getvalue(opts.load_threshold, True) == math.inf
    assert WorkerEnvOption.getvalue(opts.load_threshold, False) == 0.7
    assert WorkerEnvOption.getvalue(opts.port, True) == 0
    assert WorkerEnvOption.getvalue(opts.port, False) == 8081
    assert WorkerEnvOption.getvalue(opts.num_idle_processes, True) == 0
    assert WorkerEnvOption.getvalue(opts.num_idle_processes, False) >= 1
    assert WorkerEnvOption.getvalue(3, False) == 3


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"entrypoint_fnc": 42}, "entrypoint_fnc must be callable"),
        ({"max_retry": -1}, "max_retry must be >= 0"),
        ({"max_retry": 1.5}, "max_retry must be an integer"),
        ({"port": 70000}, "port must be a port number"),
        ({"load_threshold": 0}, "load_threshold must be > 0"),
        ({"job_memory_limit_mb": float("nan")}, "job_memory_limit_mb must be a number"),
        ({"worker_type": "room"}, "worker_type must be a WorkerType"),
        ({"job_executor_type": "process"}, "job_executor_type must be a JobExecutorType"),
        ({"agent_name": None}, "agent_name must be a string"),
    ],
)
def test_invalid_options_name_the_problem(overrides: dict[str, Any], message: str) -> None:
    values: dict[str, Any] = {"entrypoint_fnc": entry, **overrides}
    with pytest.raises(ValidationError, match=message):
        WorkerOptions(**values)


def test_credentials_from_options_win() -> None:
    opts = WorkerOptions(entry, ws_url="wss://a", api_key="k", api_secret="s")
    env = {"LIVEKIT_URL": "wss://b", "LIVEKIT_API_KEY": "k2", "LIVEKIT_API_SECRET": "s2"}
    creds = opts.resolve_credentials(env)
    assert (creds.url, creds.api_key, creds.api_secret) == ("wss://a", "k", "s")


def test_credentials_from_the_environment() -> None:
    env = {"LIVEKIT_URL": "wss://b", "LIVEKIT_API_KEY": "k2", "LIVEKIT_API_SECRET": "s2"}
    creds = WorkerOptions(entry).resolve_credentials(env)
    assert (creds.url, creds.api_key, creds.api_secret) == ("wss://b", "k2", "s2")
    assert "s2" not in repr(creds)


def test_missing_credentials_are_named() -> None:
    with pytest.raises(ValidationError) as info:
        WorkerOptions(entry).resolve_credentials({})
    assert "LIVEKIT_API_KEY" in str(info.value)
    assert "LIVEKIT_API_SECRET" in str(info.value)
    with pytest.raises(ValidationError) as info:
        WorkerOptions(entry, api_key="k").resolve_credentials({})
    assert "api_key" not in str(info.value)
    assert "LIVEKIT_API_SECRET" in str(info.value)


def test_url_defaults_to_localhost() -> None:
    creds = WorkerOptions(entry, api_key="k", api_secret="s").resolve_credentials({})
    assert creds.url == DEFAULT_WS_URL
