"""Helpers of the end-to-end tests: a ``vagent start`` worker process, job reports, speech.

Waiting is always on a condition (a log line read, a report line written, a state
observed), bounded by a timeout that names what was awaited; never a fixed sleep.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import trio
from live_participant import LiveParticipant
from livekit import rtc

from vagent import api

HERE = Path(__file__).resolve().parent
VOICE_AGENT = HERE / "agents" / "voice_agent.py"
VAGENT = str(Path(sys.executable).parent / "vagent")
SAMPLE_RATE = 48000

_STOP_TIMEOUT = 30.0


class VagentWorker:
    """``vagent start <agent file>`` as a subprocess (its own process group), output recorded.

    ``lines`` holds the worker's log lines (JSON in production mode); ``wait_for_log`` blocks
    until a line with the given ``message`` arrives. ``stop()`` sends SIGTERM, waits, and
    kills the process group if it does not exit in time.
    """

    def __init__(
        self,
        agent_file: Path,
        *,
        url: str,
        api_key: str,
        api_secret: str,
        log_path: Path,
        env: dict[str, str],
    ) -> None:
        self.log_path = log_path
        self.lines: list[dict[str, Any]] = []
        self._changed = threading.Condition()
        full_env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("LIVEKIT_")},
            "LIVEKIT_URL": url,
            "LIVEKIT_API_KEY": api_key,
            "LIVEKIT_API_SECRET": api_secret,
            **env,
        }
        self.process = subprocess.Popen(
            [VAGENT, "start", str(agent_file)],
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, name="vagent-worker-log", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        with self.log_path.open("a") as log:
            for raw in self.process.stdout:
                log.write(raw)
                log.flush()
                try:
                    line = json.loads(raw)
                except json.JSONDecodeError:
                    line = {"message": raw.rstrip("\n"), "raw": True}
                with self._changed:
                    self.lines.append(line if isinstance(line, dict) else {"message": raw})
                    self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def count(self, message: str) -> int:
        with self._changed:
            return sum(1 for line in self.lines if line.get("message") == message)

    def wait_for_log_sync(self, message: str, *, count: int = 1, timeout: float) -> None:
        def seen() -> bool:
            n = sum(1 for line in self.lines if line.get("message") == message)
            return n >= count or self.process.poll() is not None

        with self._changed:
            self._changed.wait_for(seen, timeout=timeout)
            ok = sum(1 for line in self.lines if line.get("message") == message) >= count
        if not ok:
            state = "exited" if self.process.poll() is not None else "still running"
            raise AssertionError(
                f"worker ({state}) did not log {message!r} x{count} within {timeout} s; "
                f"log: {self.log_path}\n{self.tail()}"
            )

    async def wait_for_log(self, message: str, *, count: int = 1, within: float) -> None:
        await trio.to_thread.run_sync(
            functools.partial(self.wait_for_log_sync, message, count=count, timeout=within),
            abandon_on_cancel=True,
        )

    async def wait_exit(self, *, within: float) -> int:
        def wait() -> int:
            return self.process.wait(timeout=within)

        return await trio.to_thread.run_sync(wait, abandon_on_cancel=True)

    def tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text().splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    def signal(self, sig: int) -> None:
        self.process.send_signal(sig)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        # Job processes left behind by a worker that died are ours to end too.
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._reader.join(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()


class JobReports:
    """The JSON lines the test agent writes per room (see ``agents/voice_agent.py``)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def read(self, room: str) -> list[dict[str, Any]]:
        path = self.directory / f"{room}.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def events(self, room: str, event: str) -> list[dict[str, Any]]:
        return [r for r in self.read(room) if r["event"] == event]

    def dump(self) -> None:
        """Print every room's reports (pytest shows them when the test failed)."""
        for path in sorted(self.directory.glob("*.jsonl")):
            print(f"--- the agent's reports for room {path.stem} ---")
            print(path.read_text(), end="")

    async def wait_for(self, room: str, event: str, *, within: float) -> dict[str, Any]:
        # The agent runs in another process and writes a file: check it every 50 ms.
        with trio.move_on_after(within):
            while True:
                found = self.events(room, event)
                if found:
                    return found[0]
                await trio.sleep(0.05)
        raise AssertionError(f"no {event!r} report for room {room} within {within} s")


def participant_token(server: Any, room: str, identity: str) -> str:
    return (
        api.AccessToken(server.api_key, server.api_secret)
        .with_identity(identity)
        .with_name(identity)
        .with_grants(api.VideoGrants(room_join=True, room=room))
        .to_jwt()
    )


def agent_identity(user: LiveParticipant) -> str:
    agents = [identity for identity, kind in user.joined if kind == 4]  # PARTICIPANT_KIND_AGENT
    assert len(agents) == 1, user.joined
    return agents[0]


async def wait_listening(user: LiveParticipant, *, within: float) -> str:
    """Wait until an agent joined and published ``lk.agent.state`` listening; its identity."""
    await user.wait_until(
        lambda: any(kind == 4 for _, kind in user.joined), within=within, what="the agent joins"
    )
    agent = agent_identity(user)
    await user.wait_until(
        lambda: "listening" in user.agent_states(agent),
        within=within,
        what="the agent is listening",
    )
    return agent


def final_texts(user: LiveParticipant, sender: str) -> list[str]:
    return [t.text for t in user.transcriptions if t.sender == sender and t.final]


@functools.cache
def _piper_voice() -> Any:
    from piper import PiperVoice

    from vagent.plugins.local import default_voice_paths

    return PiperVoice.load(*default_voice_paths())


@functools.cache
def speech(text: str) -> np.ndarray:
    """``text`` spoken by the piper voice, as int16 mono PCM at 48 kHz."""
    voice = _piper_voice()
    pcm = b"".join(chunk.audio_int16_bytes for chunk in voice.synthesize(text))
    rate = int(voice.config.sample_rate)
    resampler = rtc.AudioResampler(rate, SAMPLE_RATE, num_channels=1)
    frames = resampler.push(rtc.AudioFrame(pcm, rate, 1, len(pcm) // 2)) + resampler.flush()
    out = np.concatenate([np.frombuffer(f.data, dtype=np.int16) for f in frames])
    out.setflags(write=False)
    return out


def voiced_span(pcm: np.ndarray, threshold: int = 300) -> float:
    """Seconds from the first to the last sample louder than ``threshold``."""
    loud = np.flatnonzero(np.abs(pcm.astype(np.int32)) > threshold)
    return 0.0 if len(loud) == 0 else (loud[-1] - loud[0]) / SAMPLE_RATE


def voiced_seconds(pcm: np.ndarray, threshold: int = 300) -> float:
    """Seconds of ``pcm`` in 10 ms frames louder than ``threshold`` (as the participant
    counts the agent's received audio)."""
    frames = len(pcm) // (SAMPLE_RATE // 100)
    peaks = np.abs(pcm[: frames * (SAMPLE_RATE // 100)].astype(np.int32)).reshape(frames, -1)
    return float((peaks.max(axis=1) > threshold).sum()) / 100


def monotonic() -> float:
    return time.monotonic()
