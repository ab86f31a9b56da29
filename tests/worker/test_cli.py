"""The ``vagent`` command: argument parsing, agent loading, logging, subcommands."""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import signal
import socket
import subprocess
import sys
from functools import partial
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest
import trio
import trio.testing

from vagent import cli
from vagent._cli import commands
from vagent._cli.commands import apply_credentials, build_parser, watch_paths
from vagent._cli.loader import load_module, options_from_module
from vagent._cli.logs import HumanFormatter, JSONFormatter, setup_logging
from vagent._cli.reload import wait_for_changes
from vagent._cli.runner import Outcome, RunConfig, serve
from vagent._core import ValidationError
from vagent.testing.fake_server import FakeLiveKitServer
from vagent.worker.ipc.log_forwarding import record_to_message, reemit_log_record
from vagent.worker.options import WorkerOptions
from vagent.worker.worker import Worker


async def entry(ctx: Any) -> None:
    return None


def test_agent_file_with_entrypoint(tmp_path: Path) -> None:
    path = tmp_path / "agent_a.py"
    path.write_text(
        "async def entrypoint(ctx): pass\n"
        "def prewarm(proc): pass\n"
        "async def request_fnc(req): await req.accept()\n"
        "if __name__ == '__main__':\n"
        "    raise SystemExit('must not run')\n"
    )
    module = load_module(path)
    opts = options_from_module(module)
    assert opts.entrypoint_fnc is module.entrypoint
    assert opts.prewarm_fnc is module.prewarm
    assert opts.request_fnc is module.request_fnc
    # job processes find the functions again by module name or file
    assert module.__name__ in sys.modules
    assert module.__file__ == str(path.resolve())


def test_agent_file_with_opts(tmp_path: Path) -> None:
    path = tmp_path / "agent_b.py"
    path.write_text(
        "from vagent.worker.options import WorkerOptions\n"
        "async def run(ctx): pass\n"
        "opts = WorkerOptions(run, agent_name='b')\n"
    )
    assert options_from_module(load_module(path)).agent_name == "b"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("x = 1\n", "neither `opts = WorkerOptions"),
        ("opts = 3\n", "`opts` must be a vagent.WorkerOptions"),
    ],
)
def test_agent_file_errors(tmp_path: Path, source: str, message: str) -> None:
    path = tmp_path / "agent_c.py"
    path.write_text(source)
    with pytest.raises(ValidationError, match=message):
        options_from_module(load_module(path))


def test_missing_agent_file() -> None:
    with pytest.raises(ValidationError, match="not found"):
        load_module("/nonexistent/agent.py")


def test_parser_and_credentials() -> None:
    parser = build_parser("vagent", with_agent_file=True)
    args = parser.parse_args(
        ["start", "a.py", "--url", "wss://x", "--api-key", "k", "--log-level", "debug"]
    )
    assert (args.command, args.agent_file, args.log_level) == ("start", "a.py", "DEBUG")
    assert args.drain_timeout == 1800
    opts = apply_credentials(WorkerOptions(entry, api_secret="s"), args)
    assert (opts.ws_url, opts.api_key, opts.api_secret) == ("wss://x", "k", "s")
    args = build_parser("agent.py", with_agent_file=False).parse_args(
        ["connect", "--room", "r", "--participant-identity", "u"]
    )
    assert (args.room, args.participant_identity) == ("r", "u")
    with pytest.raises(SystemExit):
        build_parser("agent.py", with_agent_file=False).parse_args(["connect"])  # --room


@pytest.mark.usefixtures("restore_logging")
def test_subcommand_registry_accepts_new_modes() -> None:
    calls: list[tuple[str, str]] = []

    def run(args: argparse.Namespace, opts: WorkerOptions) -> int:
        calls.append((args.command, args.text))
        return 0

    cli.register_subcommand(
        cli.Subcommand(
            name="echo-test",
            help="test mode",
            run=run,
            add_arguments=lambda p: p.add_argument("--text", default="hi"),
        )
    )
    try:
        with pytest.raises(SystemExit) as info:
            cli.run_app(WorkerOptions(entry), ["echo-test", "--text", "yo"])
        assert info.value.code == 0
        assert calls == [("echo-test", "yo")]
    finally:
        del cli.SUBCOMMANDS["echo-test"]


def _record(**extra: Any) -> logging.LogRecord:
    record = logging.LogRecord("vagent.worker", logging.INFO, "f", 1, "job launched", None, None)
    record.__dict__.update(extra)
    return record


def test_json_logs_include_extras() -> None:
    line = JSONFormatter().format(_record(job_id="AJ_1", room=object()))
    entry = json.loads(line)
    assert entry["message"] == "job launched"
    assert entry["level"] == "INFO"
    assert entry["job_id"] == "AJ_1"
    assert entry["room"].startswith("<object")


def test_human_logs_show_extras_with_and_without_color() -> None:
    plain = HumanFormatter(color=False).format(_record(job_id="AJ_1"))
    assert "INFO" in plain
    assert 'job launched {"job_id": "AJ_1"}' in plain
    assert "\x1b[" not in plain
    assert "\x1b[" in HumanFormatter(color=True).format(_record())


@pytest.mark.usefixtures("restore_logging")
def test_setup_logging_production_is_json() -> None:
    stream = io.StringIO()
    setup_logging("info", devmode=False, stream=stream)
    logging.getLogger("vagent.worker").info("hello", extra={"k": 1})
    assert json.loads(stream.getvalue())["k"] == 1


def test_dev_watches_the_agent_directory(tmp_path: Path) -> None:
    args = argparse.Namespace(agent_file=str(tmp_path / "a.py"))
    assert watch_paths(args, WorkerOptions(entry)) == [tmp_path.resolve()]
    assert watch_paths(argparse.Namespace(), WorkerOptions(entry)) == [
        Path(__file__).resolve().parent
    ]


@pytest.mark.slow
@pytest.mark.timeout(20)
async def test_file_watcher_sees_python_changes(tmp_path: Path) -> None:
    seen: list[set[str]] = []
    done = trio.Event()

    async def watch() -> None:
        seen.append(await wait_for_changes([tmp_path]))
        done.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(watch)
        with trio.fail_after(10):
            # The watcher thread starts at its own pace: touch the files until it reacts.
            for n in range(100):
                (tmp_path / "notes.txt").write_text(f"ignored {n}")
                (tmp_path / "agent.py").write_text(f"changed = {n}\n")
                with trio.move_on_after(0.5):
                    await done.wait()
                if done.is_set():
                    break
    assert seen == [{str(tmp_path / "agent.py")}]


@pytest.mark.slow
@pytest.mark.timeout(20)
async def test_connect_mode_starts_a_job_without_dispatch(launcher: Any, gate: Any) -> None:
    def make_worker(opts: WorkerOptions, **kwargs: Any) -> Worker:
        return Worker(opts, launcher=launcher, **kwargs)

    opts = WorkerOptions(entry, api_key="k", api_secret="s" * 32, host="127.0.0.1")
    config = RunConfig(
        devmode=True,
        register=False,
        simulate_room="my-room",
        participant_identity="me",
        handle_signals=False,
    )
    async with trio.open_nursery() as nursery:
        outcome: list[Outcome] = []

        async def run() -> None:
            outcome.append(await serve(opts, config, make_worker=make_worker))

        nursery.start_soon(run)
        with trio.fail_after(10):
            await gate.wait_started()
        assert gate.started[0].job.room.name == "my-room"
        assert gate.started[0].job.participant.identity == "me"
        gate.release()
        nursery.cancel_scope.cancel()


@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_fake_server_command_line() -> None:
    proc = await trio.lowlevel.open_process(
        [sys.executable, "-m", "vagent.testing.fake_server", "--port", "0", "--http-port", "0"],
        stdout=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        # A fresh interpreter importing the server: over 20 s seen with a core kept busy.
        with trio.fail_after(90):
            banner = (await proc.stdout.receive_some(4096)).decode()
        assert banner.startswith("fake LiveKit server: ws://127.0.0.1:")
        http_url = banner.split("control API: ")[1].split(")")[0]
        async with httpx.AsyncClient(base_url=http_url) as client:
            response = await client.post("/dispatch", json={"room": "r"})
        assert response.json()["status"] == "JS_FAILED"
    finally:
        proc.terminate()
        await proc.wait()
        if proc.stdout is not None:
            await proc.stdout.aclose()


@pytest.mark.usefixtures("restore_logging")
def test_unknown_subcommands_load_their_modules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "extra_mode_for_test.py").write_text(
        "from vagent import cli\n"
        "cli.register_subcommand(cli.Subcommand(name='extra-test', help='x', run=lambda a, o: 7))\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(commands, "SUBCOMMAND_MODULES", ["extra_mode_for_test", "no_such_module"])
    try:
        commands.load_subcommands_for(["start"])  # known: nothing imported
        assert "extra-test" not in cli.SUBCOMMANDS
        with pytest.raises(SystemExit) as info:
            cli.run_app(WorkerOptions(entry), ["extra-test"])
        assert info.value.code == 7
    finally:
        cli.SUBCOMMANDS.pop("extra-test", None)
        sys.modules.pop("extra_mode_for_test", None)


def _forwarded_failure() -> logging.LogRecord:
    """A job process's ``logger.exception`` as the worker re-emits it (``exc_text`` only)."""
    try:
        raise ValueError("boom in the job")
    except ValueError:
        original = logging.getLogger("vagent.worker").makeRecord(
            "vagent.worker",
            logging.ERROR,
            "job.py",
            3,
            "job entrypoint failed",
            None,
            sys.exc_info(),
        )
    captured: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = captured.append  # type: ignore[method-assign]
    logger = logging.getLogger("vagent.tests.forwarded")
    logger.addHandler(handler)
    try:
        message = record_to_message(original)
        reemit_log_record(attrs.evolve(message, name=logger.name), job_id="AJ_1", pid=4242)
    finally:
        logger.removeHandler(handler)
    [record] = captured
    assert record.exc_info is None
    assert record.exc_text
    return record


@pytest.mark.parametrize("formatter", [JSONFormatter(), HumanFormatter(color=False)])
def test_forwarded_job_tracebacks_are_printed(formatter: logging.Formatter) -> None:
    text = formatter.format(_forwarded_failure())
    if isinstance(formatter, JSONFormatter):
        entry = json.loads(text)
        assert entry["job_id"] == "AJ_1"
        text = entry["exc_info"]
    assert "Traceback (most recent call last):" in text
    assert "ValueError: boom in the job" in text


FATAL_AGENT = """
from vagent.worker.options import WorkerOptions

async def entrypoint(ctx):
    pass

opts = WorkerOptions(
    entrypoint, host="127.0.0.1", port={port}, num_idle_processes=0, max_retry=0
)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
@pytest.mark.timeout(90)
@pytest.mark.parametrize("failure", ["wrong secret", "server unreachable", "health port in use"])
async def test_fatal_worker_errors_are_one_clear_json_line_and_exit_1(
    failure: str, tmp_path: Path
) -> None:
    async with FakeLiveKitServer() as server:
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        health_port = busy.getsockname()[1] if failure == "health port in use" else 0
        agent_file = tmp_path / "agent.py"
        agent_file.write_text(FATAL_AGENT.format(port=health_port))
        url = f"ws://127.0.0.1:{_free_port()}" if failure == "server unreachable" else server.url
        secret = "w" * 40 if failure == "wrong secret" else server.api_secret
        command = [sys.executable, "-m", "vagent.cli", "start", str(agent_file)]
        command += ["--url", url, "--api-key", server.api_key, "--api-secret", secret]
        with busy, trio.fail_after(80):
            result = await trio.run_process(command, capture_stderr=True, check=False)
    stderr = result.stderr.decode()
    assert result.returncode == 1, stderr
    assert "Traceback" not in stderr
    entries = [json.loads(line) for line in stderr.splitlines()]  # production: JSON only
    [error] = [e for e in entries if e["level"] in ("ERROR", "CRITICAL")]
    expected = {
        "wrong secret": "cannot connect to LiveKit: the LiveKit server at ws://127.0.0.1:",
        "server unreachable": "cannot connect to LiveKit: failed to connect to the LiveKit "
        "server at ws://127.0.0.1:",
        "health port in use": "cannot start the worker: the health server cannot listen on "
        f"127.0.0.1:{health_port}: ",
    }[failure]
    assert error["message"].startswith(expected)
    assert "\n" not in error["message"]


async def test_a_sigterm_while_the_connection_attempt_hangs_exits_promptly(
    net_clock: trio.testing.MockClock, launcher: Any
) -> None:
    """A server that accepts TCP and never answers the WebSocket handshake: the attempt
    would give up only after CONNECT_TIMEOUT (10 s); a SIGTERM must not wait for that."""
    accepted = trio.Event()

    async def silent(stream: trio.SocketStream) -> None:
        accepted.set()
        async with stream:
            await trio.sleep_forever()

    def make_worker(opts: WorkerOptions, **kwargs: Any) -> Worker:
        return Worker(opts, launcher=launcher, **kwargs)

    async with trio.open_nursery() as nursery:
        [listener] = await nursery.start(partial(trio.serve_tcp, silent, 0, host="127.0.0.1"))
        port = listener.socket.getsockname()[1]
        opts = WorkerOptions(
            entry,
            api_key="k",
            api_secret="s" * 32,
            host="127.0.0.1",
            port=0,
            ws_url=f"ws://127.0.0.1:{port}",
        )
        config = RunConfig(devmode=False, drain_timeout=60)
        outcome: list[Outcome] = []
        done = trio.Event()

        async def run() -> None:
            outcome.append(await serve(opts, config, make_worker=make_worker))
            done.set()

        nursery.start_soon(run)
        with trio.fail_after(5):
            await accepted.wait()
        os.kill(os.getpid(), signal.SIGTERM)
        with trio.fail_after(2):  # virtual seconds: well before the connect timeout
            await done.wait()
        assert outcome == [Outcome.EXITED]
        nursery.cancel_scope.cancel()
