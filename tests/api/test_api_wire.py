"""vagent's server API requests are livekit-api's, byte for byte.

``api_wire_calls.run`` makes one call of every method through a client pointed at a
recording HTTP server on loopback. vagent's requests (path, content type, body, token
grants) must equal livekit-api 1.2.2's, recorded from the same scenario into
``livekit_api_requests.json``. Where the reference interpreter (livekit-agents 1.8.9 with
livekit-api) is installed, a second test records livekit-api afresh and checks the file.

Two differences are by design and normalised: ``SendData``'s ``nonce`` is 16 random bytes
on both sides, and vagent's per-call tokens live 10 minutes (livekit-api's: 6 hours), so
``nbf``/``exp`` are compared as a validity window only.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from api_wire_calls import run
from livekit.protocol import room as room_proto

from vagent import api

KEY = "wire-key"
SECRET = "wire-secret-that-is-at-least-32-bytes-long"
HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "livekit_api_requests.json"
REFERENCE_CANDIDATES = [
    os.environ.get("VAGENT_REFERENCE_PYTHON", ""),
    "/work/refenv/bin/python",
    str(HERE.parents[1] / ".benchmarks-env" / "bin" / "python"),
]


class RecordingServer:
    """Answers every POST with an empty 200 protobuf and records what it got."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        recorded = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                recorded.append(_normalise(self.path, self.headers, body))
                self.send_response(200)
                self.send_header("Content-Type", "application/protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> RecordingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def _normalise(path: str, headers: Any, body: bytes) -> dict[str, Any]:
    token = headers.get("Authorization", "").removeprefix("Bearer ")
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_exp": False})
    window = claims.pop("exp") - claims.pop("nbf")
    assert 0 < window <= 6 * 3600, path
    if path.endswith("/SendData"):
        message = room_proto.SendDataRequest.FromString(body)
        assert len(message.nonce) == 16, "SendData carries a 16-byte nonce"
        message.ClearField("nonce")
        body = message.SerializeToString()
    return {
        "path": path,
        "content_type": headers.get("Content-Type"),
        "body": base64.b64encode(body).decode(),
        "claims": claims,
    }


@pytest.fixture
def recorder() -> Iterator[RecordingServer]:
    with RecordingServer() as server:
        yield server


def _golden() -> list[dict[str, Any]]:
    recorded: list[dict[str, Any]] = json.loads(GOLDEN.read_text())
    return recorded


def _describe(requests: list[dict[str, Any]]) -> list[str]:
    return [r["path"].rsplit("/", 2)[-2] + "/" + r["path"].rsplit("/", 1)[-1] for r in requests]


async def test_vagent_sends_what_livekit_api_sends(recorder: RecordingServer) -> None:
    async with api.LiveKitAPI(recorder.url, KEY, SECRET) as lkapi:
        await run(api, lkapi)
    golden = _golden()
    assert _describe(recorder.requests) == _describe(golden)
    for ours, theirs in zip(recorder.requests, golden, strict=True):
        assert ours == theirs, ours["path"]


def _reference_python() -> str | None:
    for candidate in REFERENCE_CANDIDATES:
        if candidate and os.access(candidate, os.X_OK):
            probe = subprocess.run(
                [candidate, "-c", "import livekit.api"], capture_output=True, timeout=60
            )
            if probe.returncode == 0:
                return candidate
    return None


_REFERENCE_SCRIPT = """
import asyncio, sys
sys.path.insert(0, sys.argv[2])
from livekit import api
from api_wire_calls import run

async def main():
    async with api.LiveKitAPI(sys.argv[1], sys.argv[3], sys.argv[4]) as lkapi:
        await run(api, lkapi)

asyncio.run(main())
"""


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_the_recording_is_livekit_apis(recorder: RecordingServer) -> None:
    python = _reference_python()
    if python is None:
        pytest.skip(
            "the reference client (livekit-api, from `python -m benchmarks`' .benchmarks-env "
            "or VAGENT_REFERENCE_PYTHON) is not installed"
        )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LIVEKIT_", "VIRTUAL_ENV"))}
    subprocess.run(
        [python, "-c", _REFERENCE_SCRIPT, recorder.url, str(HERE), KEY, SECRET],
        check=True,
        env=env,
        timeout=90,
    )
    if os.environ.get("VAGENT_RECORD_WIRE"):  # regenerate: VAGENT_RECORD_WIRE=1 pytest ...
        GOLDEN.write_text(json.dumps(recorder.requests, indent=1, sort_keys=True) + "\n")
    assert recorder.requests == _golden()


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
