"""A session over a real WebSocket, on hypercorn (trio) and uvicorn (asyncio): turns by text
and by voice, playback reports, and both ways of ending (the client leaves, the session
closes)."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from ws_harness import (
    SERVERS,
    WAIT,
    Client,
    Served,
    backend_of,
    in_thread,
    open_client,
    pcm,
    serve,
    session_endpoint,
    signal_loop,
)

from vagent.session import CloseReason
from vagent.testing.fake_vad import FakeUserSpeech

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


def run(server: str, main: Any) -> None:
    anyio.run(main, backend=backend_of(server))


@pytest.mark.parametrize("server", SERVERS)
def test_typed_turn_with_playback_reports(server: str) -> None:
    """The client types, gets the reply's audio at its rate and the transcript, reports
    playback; the agent listens again once the client says it played everything."""
    served = Served()
    endpoint = session_endpoint(served)

    def client_side(url: str) -> dict[str, Any]:
        with open_client(url + "/") as client:
            return talk(client)

    def talk(client: Client) -> dict[str, Any]:
        ready = client.recv_type("ready")
        client.send_json(type="config", output_sample_rate=16000, playback_reports=True)
        applied = client.recv_type("config")
        client.send_json(type="text", text="hello there")
        start = client.recv_type("audio_start")
        end = client.recv_type("audio_end", segment=start["segment"])
        samples = client.audio_bytes() // 2
        # The agent keeps speaking until the client reports the end of playback.
        client.send_json(
            type="playback", segment=start["segment"], position=samples / 16000, finished=True
        )
        client.recv_type("agent_state", state="listening")
        return {"ready": ready, "applied": applied, "start": start, "end": end, "client": client}

    async def main() -> None:
        async with serve(server, endpoint) as url:
            result = await in_thread(client_side, url)
            with anyio.fail_after(30):
                await endpoint.wait_idle()
        client = result["client"]
        assert result["ready"] == {
            "type": "ready",
            "protocol": 1,
            "input_sample_rate": 16000,
            "output_sample_rate": 24000,
            "playback_reports": False,
        }
        assert result["applied"]["output_sample_rate"] == 16000
        assert result["applied"]["playback_reports"] is True
        assert result["start"]["sample_rate"] == 16000
        # 1.0 s of FakeTTS audio at 24 kHz, resampled to 16 kHz (a few samples of filter
        # delay may differ).
        assert abs(client.audio_bytes() / 2 - 16000) < 200
        text = "".join(m["delta"] for m in client.events("agent_transcript"))
        assert text == "Hi! How can I help you today?"
        assert client.events("agent_transcript")[-1]["final"] is True
        states = [m["state"] for m in client.events("agent_state")]
        assert states[-3:] == ["thinking", "speaking", "listening"]
        session = served.sessions[0]
        assert [(i.role, i.text_content) for i in session.history.items if i.type == "message"] == [
            ("user", "hello there"),
            ("assistant", "Hi! How can I help you today?"),
        ]
        assert [c.reason for c in served.closes] == [CloseReason.PARTICIPANT_DISCONNECTED]
        assert endpoint.statistics().open == 0

    run(server, main)


@pytest.mark.parametrize("server", SERVERS)
def test_spoken_turn_and_session_close_closes_the_socket(server: str) -> None:
    """Audio streamed by the client reaches the session (at the declared rate); the user's
    transcript comes back; closing the session closes the socket with 1000."""
    served = Served()
    speech = FakeUserSpeech(start_time=0.2, end_time=0.6, transcript="hello there", stt_delay=0.1)
    endpoint = session_endpoint(
        served, speeches=[speech], session_options={"min_endpointing_delay": 0.2}
    )
    frame_seconds = 0.04

    reply_done = anyio.Event()

    def client_side(url: str) -> Any:
        with open_client(url) as client:
            return talk(client)

    def talk(client: Client) -> Any:
        client.recv_type("ready")
        client.send_json(type="config", input_sample_rate=48000)
        client.recv_type("config")
        sent = 0
        # Stream until the user's final transcript comes back (the VAD script is timed from
        # the session's first audio; the client keeps sending like a live microphone).
        while not any(m.get("final") for m in client.events("user_transcript")):
            client.send_raw(pcm(frame_seconds, 48000))
            sent += 1
            client.poll(frame_seconds)  # pace like a microphone
        client.recv_type("audio_end")
        signal_loop(reply_done)
        return client.recv_until_closed()

    async def main() -> None:
        async with serve(server, endpoint) as url:
            results: list[Any] = []

            async def go() -> None:
                results.append(await in_thread(client_side, url))

            async with anyio.create_task_group() as tg:
                tg.start_soon(go)
                session = await served.wait_started()
                with anyio.fail_after(WAIT):
                    await reply_done.wait()
                stats = served.ios[0].statistics()
                await session.aclose()
            code, reason = results[0]
            with anyio.fail_after(30):
                await endpoint.wait_idle()
        assert (code, reason) == (1000, "session closed")
        assert stats.audio_frames_received >= 1
        assert stats.audio_frames_dropped == 0
        assert [c.reason for c in served.closes] == [CloseReason.USER_INITIATED]

    run(server, main)


@pytest.mark.parametrize("server", SERVERS)
def test_server_shutdown_closes_socket_and_session(server: str) -> None:
    """The ASGI server stops while a client is connected: the socket ends and the session
    closes. Each server closes its way: uvicorn sends 1012 (service restart) itself;
    hypercorn cancels the connection after its graceful_timeout, with its transport, so no
    close frame can go out (the client sees the connection drop)."""
    served = Served()
    endpoint = session_endpoint(served)
    connected = anyio.Event()
    results: list[Any] = []

    def talk(client: Client) -> Any:
        client.recv_type("ready")
        signal_loop(connected)
        return client.recv_until_closed()

    async def main() -> None:
        async with anyio.create_task_group() as tg, serve(server, endpoint) as url:

            async def go() -> None:
                def client_side() -> Any:
                    with open_client(url) as client:
                        return talk(client)

                results.append(await in_thread(client_side))

            tg.start_soon(go)
            with anyio.fail_after(WAIT):
                await connected.wait()
            # the server stopped (leaving serve()); the client ends on its close
        with anyio.fail_after(WAIT):
            await endpoint.wait_idle()
        [(code, _reason)] = results
        assert code == (None if server == "hypercorn-trio" else 1012)
        assert len(served.closes) == 1
        assert endpoint.statistics().open == 0

    run(server, main)
