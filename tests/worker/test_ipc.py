"""The job IPC protocol: frames, messages, malformed input, callable references."""

from __future__ import annotations

import logging
import struct
import textwrap
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from vagent._core import ValidationError
from vagent.worker.ipc import (
    CallableRef,
    InitializeRequest,
    InitializeResponse,
    IPCChannel,
    IPCProtocolError,
    JobExited,
    LogRecordMessage,
    Message,
    MessageType,
    PingRequest,
    PongResponse,
    ProcessReady,
    ShutdownRequest,
    StartJobRequest,
    StartJobResponse,
    callable_ref,
    decode_payload,
    encode_frame,
    encode_payload,
    resolve_callable,
)
from vagent.worker.ipc.log_forwarding import record_to_message
from vagent.worker.running_job import JobAcceptArguments

ALL_MESSAGES: list[Message] = [
    ProcessReady(pid=1234),
    InitializeRequest(
        entrypoint=CallableRef(module="pkg.mod", qualname="entry", file="/x/mod.py"),
        prewarm=None,
        sys_path=["/a", "/b"],
        log_level=20,
        shutdown_callback_timeout=3.0,
        shutdown_grace_period=0.5,
    ),
    InitializeResponse(error="prewarm failed"),
    StartJobRequest(
        job=b"\x00\x01binary\xff",
        accept_arguments=JobAcceptArguments(
            identity="agent-1", name="Agent", metadata="{}", attributes={"k": "v"}
        ),
        url="ws://localhost:7880",
        token="secret",
        worker_id="W_1",
        fake_job=True,
    ),
    StartJobResponse(),
    PingRequest(timestamp=12.5),
    PongResponse(ping_timestamp=12.5),
    ShutdownRequest(reason="bye"),
    LogRecordMessage(
        name="a.b", levelno=30, msg="hello", created=1.5, extra={"n": 1, "l": [1, "x"]}
    ),
    JobExited(failed=True, error="ValueError: boom", reason="job failed"),
]


def _pair(max_frame_size: int = 1024) -> tuple[IPCChannel, IPCChannel]:
    left, right = trio.testing.memory_stream_pair()
    return IPCChannel(left, max_frame_size=max_frame_size), IPCChannel(
        right, max_frame_size=max_frame_size
    )


def _raw_pair(max_frame_size: int = 1024) -> tuple[trio.abc.Stream, IPCChannel]:
    left, right = trio.testing.memory_stream_pair()
    return left, IPCChannel(right, max_frame_size=max_frame_size)


def _payload(data: bytes, blob: bytes = b"") -> bytes:
    return struct.pack(">I", len(data)) + data + blob


async def test_every_message_round_trips(autojump_clock: trio.testing.MockClock) -> None:
    a, b = _pair(max_frame_size=64 * 1024)
    async with a, b:
        for msg in ALL_MESSAGES:
            await a.send(msg)
        received = [await b.receive() for _ in ALL_MESSAGES]
    assert received == ALL_MESSAGES


async def test_frames_split_into_single_bytes_are_reassembled(
    autojump_clock: trio.testing.MockClock,
) -> None:
    raw, channel = _raw_pair()
    msg = PingRequest(timestamp=3.0)
    frame = encode_frame(msg.TYPE, encode_payload(msg)) * 2
    async with raw, channel, trio.open_nursery() as nursery:

        async def trickle() -> None:
            for i in range(len(frame)):
                await raw.send_all(frame[i : i + 1])
                await trio.sleep(0.01)
            await raw.send_eof()  # type: ignore[attr-defined]

        nursery.start_soon(trickle)
        got = [m async for m in channel]
    assert got == [msg, msg]


async def test_clean_end_of_stream_ends_iteration(autojump_clock: trio.testing.MockClock) -> None:
    a, b = _pair()
    await a.send(ShutdownRequest(reason="x"))
    await a.aclose()
    assert [m async for m in b] == [ShutdownRequest(reason="x")]
    with pytest.raises(trio.EndOfChannel):
        await b.receive()
    await b.aclose()


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (
            b"\x00\x00",
            "truncated IPC frame: the peer closed the connection after 2 of 5 bytes of the frame header",
        ),
        (
            struct.pack(">IB", 10, 5) + b"abc",
            "truncated IPC frame: the peer closed the connection after 8 of 15 bytes of the frame payload",
        ),
        (struct.pack(">IB", 1025, 5), "IPC frame of 1025 bytes exceeds the maximum of 1024 bytes"),
        (struct.pack(">IB", 0xFFFFFFFF, 5), "IPC frame of 4294967295 bytes exceeds the maximum"),
        (struct.pack(">IB", 2, 0x7F) + b"{}", "unknown IPC message type 0x7f"),
        (
            struct.pack(">IB", 2, 5) + b"{}",
            "malformed PingRequest payload: 2 bytes, no JSON header",
        ),
    ],
)
async def test_malformed_frames_raise_clear_errors(
    raw: bytes, error: str, autojump_clock: trio.testing.MockClock
) -> None:
    sender, channel = _raw_pair()
    async with sender, channel:
        await sender.send_all(raw)
        await sender.send_eof()  # type: ignore[attr-defined]
        # A hang would be a bug: the clock autojumps to this deadline if nothing happens.
        with trio.fail_after(5), pytest.raises(IPCProtocolError, match="^" + _re(error)):
            await channel.receive()


async def test_oversized_header_fails_without_waiting_for_the_payload(
    autojump_clock: trio.testing.MockClock,
) -> None:
    sender, channel = _raw_pair()
    async with sender, channel:
        # The peer stays open and sends nothing more: the error must come at once.
        await sender.send_all(struct.pack(">IB", 50_000, 5))
        with trio.fail_after(1), pytest.raises(IPCProtocolError, match="exceeds the maximum"):
            await channel.receive()


@pytest.mark.parametrize(
    ("msg_type", "payload", "error"),
    [
        (
            MessageType.PING_REQUEST,
            _payload(b"{not json"),
            "malformed PingRequest payload: invalid JSON",
        ),
        (
            MessageType.PING_REQUEST,
            _payload(b"[1, 2]"),
            "malformed PingRequest payload: expected a JSON object",
        ),
        (
            MessageType.PING_REQUEST,
            _payload(b"{}"),
            "malformed PingRequest payload: required field missing @ $.timestamp",
        ),
        (
            MessageType.PING_REQUEST,
            _payload(b'{"timestamp": "soon"}'),
            "malformed PingRequest payload: invalid value for type, expected float @ $.timestamp",
        ),
        (
            MessageType.PING_REQUEST,
            _payload(b'{"timestamp": 1, "x": 2}'),
            "malformed PingRequest payload: extra fields found (x) @ $",
        ),
        (
            MessageType.PING_REQUEST,
            _payload(b'{"timestamp": 1}', b"junk"),
            "malformed PingRequest payload: 4 unexpected trailing bytes",
        ),
        (
            MessageType.SHUTDOWN_REQUEST,
            struct.pack(">I", 99) + b"{}",
            "malformed ShutdownRequest payload: JSON length 99 exceeds the payload (2 bytes)",
        ),
        (
            MessageType.START_JOB_REQUEST,
            _payload(b'{"url": "u"}', b"job"),
            "malformed StartJobRequest payload: required field missing @ $.accept_arguments",
        ),
        (
            MessageType.INITIALIZE_RESPONSE,
            _payload(b"\xff\xfe"),
            "malformed InitializeResponse payload: invalid JSON",
        ),
    ],
)
async def test_malformed_payloads_raise_clear_errors(
    msg_type: int, payload: bytes, error: str, autojump_clock: trio.testing.MockClock
) -> None:
    sender, channel = _raw_pair()
    async with sender, channel:
        await sender.send_all(encode_frame(msg_type, payload))
        with pytest.raises(IPCProtocolError, match="^" + _re(error)):
            await channel.receive()


async def test_sending_an_oversized_message_is_refused(
    autojump_clock: trio.testing.MockClock,
) -> None:
    a, b = _pair(max_frame_size=100)
    async with a, b:
        with pytest.raises(IPCProtocolError, match="exceeds the maximum of 100 bytes"):
            await a.send(LogRecordMessage(name="x", levelno=20, msg="y" * 200, created=0.0))
        # Nothing half-written: the channel still works.
        await a.send(PingRequest(timestamp=1.0))
        assert await b.receive() == PingRequest(timestamp=1.0)


async def test_concurrent_senders_never_interleave_frames(
    autojump_clock: trio.testing.MockClock,
) -> None:
    a, b = _pair(max_frame_size=64 * 1024)
    async with a, b, trio.open_nursery() as nursery:
        for i in range(20):
            nursery.start_soon(
                a.send, LogRecordMessage(name=str(i), levelno=20, msg="z" * 5000, created=0.0)
            )
        names = sorted([int((await b.receive()).name) for _ in range(20)])  # type: ignore[union-attr]
    assert names == list(range(20))


def _re(text: str) -> str:
    import re

    return re.escape(text)


# -- callable references ----------------------------------------------------------------


def module_level_function() -> str:
    return "here"


def test_module_level_function_reference_resolves() -> None:
    ref = callable_ref(module_level_function, what="entrypoint_fnc")
    assert ref.qualname == "module_level_function"
    assert resolve_callable(ref) is module_level_function


def test_lambdas_and_closures_are_refused_with_a_clear_error() -> None:
    def nested() -> None: ...

    with pytest.raises(ValidationError, match="only module-level functions can be imported"):
        callable_ref(nested, what="entrypoint_fnc")
    with pytest.raises(ValidationError, match=r"entrypoint_fnc .*<lambda>"):
        callable_ref(lambda: None, what="entrypoint_fnc")
    with pytest.raises(ValidationError, match="has no module/qualname"):
        callable_ref(functools_partial(), what="prewarm_fnc")


def functools_partial() -> Any:
    import functools

    return functools.partial(module_level_function)


def test_main_script_is_loaded_from_its_file_without_running_its_main_block(tmp_path: Path) -> None:
    script = tmp_path / "my_agent.py"
    script.write_text(
        textwrap.dedent(
            """
            RAN_MAIN = []
            async def entrypoint(ctx):
                return "agent"
            if __name__ == "__main__":
                raise SystemExit("the __main__ block must not run in a job process")
            """
        )
    )
    fn = resolve_callable(CallableRef(module="__main__", qualname="entrypoint", file=str(script)))
    assert fn.__module__ == "__vagent_main__"
    assert fn.__name__ == "entrypoint"


def test_file_loaded_by_path_resolves_when_not_importable(tmp_path: Path) -> None:
    script = tmp_path / "loaded_by_cli.py"
    script.write_text("def prewarm(proc):\n    return 'ok'\n")
    ref = CallableRef(module="vagent_test_not_importable_xyz", qualname="prewarm", file=str(script))
    assert resolve_callable(ref)(None) == "ok"


def test_missing_attribute_is_a_clear_error() -> None:
    ref = CallableRef(module=__name__, qualname="does_not_exist")
    with pytest.raises(
        ValidationError, match="test_ipc:does_not_exist not found: no attribute 'does_not_exist'"
    ):
        resolve_callable(ref)


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"name": "x", "levelno": 20, "msg": "m", "created": 0, "extra": {"deep": '
        + b"[" * 100_000
        + b"]" * 100_000
        + b"}}",
    ],
    ids=["top-level", "inside-a-field"],
)
async def test_deeply_nested_json_is_a_protocol_error_not_a_recursion_error(
    body: bytes, autojump_clock: trio.testing.MockClock
) -> None:
    sender, channel = _raw_pair(max_frame_size=1 << 20)
    async with sender, channel:
        await sender.send_all(
            encode_frame(MessageType.LOG_RECORD, _payload(body), max_frame_size=1 << 20)
        )
        with pytest.raises(
            IPCProtocolError, match=r"^malformed LogRecordMessage payload: JSON nested too deeply"
        ):
            await channel.receive()


def test_log_records_with_unencodable_extras_are_still_forwarded() -> None:
    deep: list[Any] = []
    for _ in range(100_000):
        deep = [deep]
    record = logging.LogRecord("x", logging.INFO, "f", 1, "hello", None, None)
    record.deep = deep
    record.fine = {"a": [1, 2]}
    msg = record_to_message(record)
    assert msg.extra == {"deep": "<list nested too deeply to log>", "fine": {"a": [1, 2]}}
    assert decode_payload(msg.TYPE, encode_payload(msg)) == msg
