"""Run the real-server latency benchmark: ``python -m benchmarks.realserver [--turns N]``.

Needs the server binary (as the tests find it: ``LIVEKIT_SERVER_BIN``, ``PATH``,
``~/go/bin/server``) and the reference environment (``.benchmarks-env``, made by
``python -m benchmarks`` or here; ``VAGENT_REFERENCE_PYTHON`` names another interpreter with
livekit-agents 1.8.9 and livekit-plugins-silero). Prints a table; ``--json`` prints the results as one JSON
line; ``--write`` replaces the real-server section of ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
for extra in (ROOT / "tests", ROOT / "tests" / "realserver", HERE):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

import agent_spec as spec  # noqa: E402
import numpy as np  # noqa: E402
import trio  # noqa: E402
from e2e_harness import participant_token, speech, wait_listening  # noqa: E402
from live_participant import SILENCE_LEVEL, LiveParticipant, open_live_participant  # noqa: E402

from benchmarks.realserver.report import section, summary, write_section  # noqa: E402
from real_livekit_server import find_server_binary, running_livekit_server  # noqa: E402
from vagent import api  # noqa: E402

SIDES = ("vagent", "livekit-agents")
WAIT = 60.0


def log(msg: str) -> None:
    print(f"[bench realserver {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def worker_command(side: str, ref_python: str) -> list[str]:
    if side == "vagent":
        return [str(Path(sys.executable).parent / "vagent"), "start", str(HERE / "vagent_agent.py")]
    return [ref_python, str(HERE / "lk_agent.py"), "start"]


def start_worker(side: str, server: Any, ref_python: str, log_dir: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LIVEKIT_", "VIRTUAL_ENV"))}
    env.update(
        LIVEKIT_URL=server.url,
        LIVEKIT_API_KEY=server.api_key,
        LIVEKIT_API_SECRET=server.api_secret,
        BENCH_AGENT_NAME=f"bench-{side}",
    )
    out = (log_dir / f"{side}.log").open("wb")
    return subprocess.Popen(
        worker_command(side, ref_python),
        env=env,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop_worker(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # its job processes too
    except ProcessLookupError:
        pass
    process.wait(timeout=10)


def wait_registered(log_file: Path, side: str, within: float = 180.0) -> None:
    """Wait until the worker's log says it registered (both frameworks log that message)."""
    deadline = time.monotonic() + within
    while '"registered worker"' not in log_file.read_text(errors="replace"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the {side} worker did not register within {within} s")
        time.sleep(0.1)


def trailing_silence(pcm: np.ndarray) -> float:
    loud = np.flatnonzero(np.abs(pcm.astype(np.int32)) > SILENCE_LEVEL)
    return (len(pcm) - 1 - int(loud[-1])) / 48000 if len(loud) else 0.0


async def one_turn(user: LiveParticipant, agent: str, pcm: np.ndarray, turn: int) -> float:
    utterance = user.say(pcm)
    await user.wait_until(
        lambda: (
            utterance.ended_at is not None
            and bool(user.voiced_frames(since=utterance.ended_at - trailing_silence(pcm)))
        ),
        within=WAIT,
        what=f"the agent's answer {turn}",
    )
    assert utterance.ended_at is not None
    speech_end = utterance.ended_at - trailing_silence(pcm)
    first = user.snapshot(lambda: user.voiced_frames(since=speech_end)[0])
    # The answer plays out and the agent listens again before the next turn.
    await user.wait_until(
        lambda: (
            user.agent_states(agent).count("speaking") >= turn
            and user.agent_states(agent)[-1] == "listening"
        ),
        within=WAIT,
        what=f"the agent listens again after answer {turn}",
    )
    return first.at - speech_end


async def measure(server: Any, turns: int) -> dict[str, list[float]]:
    pcm = speech(spec.USER_SENTENCE)
    samples: dict[str, list[float]] = {side: [] for side in SIDES}
    users: dict[str, tuple[LiveParticipant, str]] = {}
    async with (
        api.LiveKitAPI(server.url, server.api_key, server.api_secret) as lkapi,
        contextlib.AsyncExitStack() as stack,
    ):
        for side in SIDES:
            room = f"bench-{side}-{secrets.token_hex(3)}"
            await lkapi.agent_dispatch.create_dispatch(
                api.CreateAgentDispatchRequest(agent_name=f"bench-{side}", room=room)
            )
            user = await stack.enter_async_context(
                open_live_participant(server.url, participant_token(server, room, "user"))
            )
            log(f"{side}: waiting for the agent")
            agent = await wait_listening(user, within=180.0)
            users[side] = (user, agent)
            await one_turn(user, agent, pcm, 1)  # warm-up, not counted
        for i in range(turns):
            order = SIDES if i % 2 == 0 else SIDES[::-1]
            for side in order:
                user, agent = users[side]
                samples[side].append(await one_turn(user, agent, pcm, i + 2))
            log(
                f"turn {i + 1}/{turns}: "
                + ", ".join(f"{s} {samples[s][-1] * 1000:.0f} ms" for s in SIDES)
            )
    return samples


def run(turns: int, ref_python: str) -> dict[str, Any]:
    binary = find_server_binary()
    if binary is None:
        return {"error": "the LiveKit server binary is not installed (see docs/livekit-server.md)"}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-realserver-") as tmp:
        workdir = Path(tmp)
        with running_livekit_server(binary, workdir / "server") as server:
            workers = [start_worker(side, server, ref_python, workdir) for side in SIDES]
            try:
                # A dispatch made before its worker registered is dropped by the server.
                for side in SIDES:
                    wait_registered(workdir / f"{side}.log", side)
                samples = trio.run(measure, server, turns)
            except Exception as exc:
                traceback.print_exc()
                tails = {
                    side: (workdir / f"{side}.log").read_text(errors="replace")[-3000:]
                    for side in SIDES
                }
                for side, tail in tails.items():
                    log(f"{side} worker log (end):\n{tail}")
                return {"error": f"{type(exc).__name__}: {exc}", "worker_logs": tails}
            finally:
                for process in workers:
                    stop_worker(process)
            version = subprocess.run(
                [binary, "--version"], capture_output=True, text=True, check=False
            ).stdout.strip()
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = float("nan")
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load": load,
        "samples": samples,
        "summary": {side: summary(values) for side, values in samples.items()},
        "turns": turns,
        "server": version,
        "elapsed": time.perf_counter() - started,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.realserver")
    parser.add_argument("--turns", type=int, default=20, help="measured turns per side")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    args = parser.parse_args()
    ref_python = os.environ.get("VAGENT_REFERENCE_PYTHON")
    if not ref_python:
        from benchmarks.__main__ import REF_PY, ensure_reference_env

        ensure_reference_env()
        ref_python = str(REF_PY)
    result = run(args.turns, ref_python)
    text = section(result)
    print(text, file=sys.stderr)
    if args.write:
        write_section(text)
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
