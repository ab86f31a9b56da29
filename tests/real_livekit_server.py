"""The real LiveKit server as a test fixture (tests marked ``livekit_server``).

The server binary (``livekit-server``, installed by ``.ci/run`` with
``go install github.com/livekit/livekit-server/cmd/server@v1.13.5``, so named ``server``) is
found through ``LIVEKIT_SERVER_BIN``, then ``livekit-server`` or ``server`` on ``PATH``, then
``~/go/bin/server``. Without it, marked tests are skipped with the reason; with
``VAGENT_REQUIRE_LIVEKIT_SERVER=1`` (set by CI) a missing binary fails them instead.

The server runs in dev mode bound to 127.0.0.1 on free ports, from a config file written for
it: one API key with a secret of at least 32 bytes, a small UDP range for WebRTC,
``node_ip: 127.0.0.1``, no TCP fallback and no TURN. Its log goes to a file whose tail is
attached to the report of any failing test that used it.

Fixtures:
- ``livekit_server``: one server for the whole session (starting one takes about a second,
  and rooms are named per test so tests do not see each other).
- ``private_livekit_server``: a server of the test's own, for tests that stop or restart it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

REQUIRE_ENV = "VAGENT_REQUIRE_LIVEKIT_SERVER"
BIN_ENV = "LIVEKIT_SERVER_BIN"
EXPECTED_VERSION = "1.13.5"
API_KEY = "vagent-test-key"

_START_TIMEOUT = 30.0  # seconds until the server answers HTTP; it takes ~1 s when idle
_STOP_TIMEOUT = 10.0  # seconds after SIGTERM (graceful), then again after SIGINT (forced)
_UDP_PORTS = 24  # WebRTC ports in the ICE range; a test uses at most a few peer connections
_LOG_TAIL_LINES = 120
_LOG_LINE_CHARS = 600  # its info lines can hold whole SDP offers


def find_server_binary() -> str | None:
    """The server binary's path, or ``None`` when it is not installed."""
    configured = os.environ.get(BIN_ENV)
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    for name in ("livekit-server", "server"):
        found = shutil.which(name)
        if found is not None and _is_livekit_server(found):
            return found
    go_bin = Path.home() / "go" / "bin" / "server"
    if os.access(go_bin, os.X_OK):
        return str(go_bin)
    return None


def _is_livekit_server(path: str) -> bool:
    # `server` is a generic name; only take one that says it is livekit-server.
    try:
        out = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "livekit-server" in out.stdout


def skip_or_fail_without_server() -> str:
    """The binary's path; otherwise skip the test, or fail it when CI requires the server."""
    binary = find_server_binary()
    if binary is not None:
        return binary
    reason = (
        "the real LiveKit server is not installed (set LIVEKIT_SERVER_BIN, or run "
        "`go install github.com/livekit/livekit-server/cmd/server@v1.13.5`)"
    )
    if os.environ.get(REQUIRE_ENV):
        pytest.fail(f"{REQUIRE_ENV} is set but {reason}", pytrace=False)
    pytest.skip(reason)


def _die_with_pytest() -> None:
    """In the server's process before exec: SIGKILL from the kernel when pytest dies (Linux),
    so a killed test run (a CI timeout, SIGKILL) leaves no server behind. (SIGTERM would not
    do: the server answers it with a graceful shutdown that can outlive the run.)"""
    if sys.platform == "linux":
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _udp_range_is_free(start: int, count: int) -> bool:
    socks: list[socket.socket] = []
    try:
        for port in range(start, start + count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            socks.append(sock)
            sock.bind(("127.0.0.1", port))
    except OSError:
        return False
    finally:
        for sock in socks:
            sock.close()
    return True


def _free_udp_range(count: int) -> int:
    # Several test runs share the machine: pick a random window and check it. Pion picks a
    # free port within the range for each connection, so a late collision only narrows it.
    for _ in range(200):
        start = 20000 + secrets.randbelow(30000)
        if _udp_range_is_free(start, count):
            return start
    raise RuntimeError("no free UDP port range for the LiveKit server")


class LiveKitServer:
    """One real ``livekit-server`` process in dev mode on loopback.

    ``url`` is the WebSocket URL clients and workers use, ``http_url`` the server API's base.
    ``stop()`` and ``start()`` restart it on the same ports and keys (a worker connected to it
    sees the server go away and come back).
    """

    def __init__(self, binary: str, workdir: Path) -> None:
        self.binary = binary
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.api_key = API_KEY
        self.api_secret = secrets.token_urlsafe(32)  # 43 characters, HS256 needs >= 32 bytes
        self.port = _free_tcp_port()
        self.udp_start = _free_udp_range(_UDP_PORTS)
        self.url = f"ws://127.0.0.1:{self.port}"
        self.http_url = f"http://127.0.0.1:{self.port}"
        self.config_path = workdir / "livekit.yaml"
        self.log_path = workdir / "livekit-server.log"
        self._process: subprocess.Popen[bytes] | None = None
        self.config_path.write_text(self._config())

    def _config(self) -> str:
        return "\n".join(
            [
                f"port: {self.port}",
                "bind_addresses: [127.0.0.1]",
                "rtc:",
                "  tcp_port: 0",  # no ICE over TCP: loopback UDP only
                f"  port_range_start: {self.udp_start}",
                f"  port_range_end: {self.udp_start + _UDP_PORTS - 1}",
                "  node_ip: 127.0.0.1",
                "  use_external_ip: false",
                "turn:",
                "  enabled: false",
                "keys:",
                f"  {self.api_key}: {self.api_secret}",
                "logging:",
                "  level: info",
                "",
            ]
        )

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start the server and return once it answers HTTP (bounded: ``_START_TIMEOUT``)."""
        if self.running:
            return
        with self.log_path.open("ab") as log:
            log.write(f"--- starting {self.binary} ---\n".encode())
            log.flush()
            self._process = subprocess.Popen(
                [self.binary, "--dev", "--config", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_pytest,
            )
        deadline = time.monotonic() + _START_TIMEOUT
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"livekit-server exited with {self._process.returncode} while starting:\n"
                    + self.log_tail()
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.http_url, timeout=2.0).status_code == 200:
                    return
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"livekit-server did not answer within {_START_TIMEOUT} s:\n" + self.log_tail()
                )
            time.sleep(0.05)

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections stay open, nothing is answered, as with
        a hung server or a dead network path. :meth:`resume` undoes it."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """Let a paused server run again (SIGCONT)."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        """Stop the server: SIGTERM, then SIGINT (its forced stop), then SIGKILL; bounded."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGCONT)  # a paused server could not act on SIGTERM
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGKILL):
            process.send_signal(sig)
            try:
                process.wait(timeout=_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                continue
            return

    def kill(self) -> None:
        """Stop the server abruptly (SIGKILL), as a crash would."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=_STOP_TIMEOUT)

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        tail = text.splitlines()[-lines:]
        return "\n".join(
            line if len(line) <= _LOG_LINE_CHARS else line[:_LOG_LINE_CHARS] + " [...]"
            for line in tail
        )


@contextlib.contextmanager
def running_livekit_server(binary: str, workdir: Path) -> Iterator[LiveKitServer]:
    """A started :class:`LiveKitServer`, stopped on exit."""
    server = LiveKitServer(binary, workdir)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def livekit_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveKitServer]:
    """The session's real LiveKit server (skips or fails the test when it is absent)."""
    binary = skip_or_fail_without_server()
    with running_livekit_server(binary, tmp_path_factory.mktemp("livekit-server")) as server:
        yield server


@pytest.fixture
def private_livekit_server(tmp_path: Path) -> Iterator[LiveKitServer]:
    """A real LiveKit server for this test alone (for tests that stop or restart it)."""
    binary = skip_or_fail_without_server()
    with running_livekit_server(binary, tmp_path / "livekit-server") as server:
        yield server


def check_marked_item(item: pytest.Item) -> None:
    """Skip (or, in CI, fail) a ``livekit_server`` test before setup when there is no binary."""
    if item.get_closest_marker("livekit_server") is not None:
        skip_or_fail_without_server()


def attach_server_log(item: pytest.Item, report: pytest.TestReport) -> None:
    """On a failing test that used a server, add the server log's tail to the report."""
    if not report.failed:
        return
    funcargs = getattr(item, "funcargs", {})
    for name in ("livekit_server", "private_livekit_server"):
        server = funcargs.get(name)
        if isinstance(server, LiveKitServer):
            report.sections.append(
                (f"{name} log ({server.log_path})", server.log_tail()),
            )
