"""openai.LLM sends images, audio and summaries over the chat completions wire format.

Each test runs the plugin against a real HTTP server on loopback and decodes what the server
received: the image as a data URL of the right type and size, the audio as a WAV file.
"""

from __future__ import annotations

import base64
import io
import wave
from typing import Any

import numpy as np
import pytest
import trio
from livekit import rtc
from PIL import Image
from plugins_openai_server import FakeOpenAI, Reply, chunk, sse, start_server

from image_frames import BLUE, GREEN, RED, WHITE, close_to, corner_colors, frame
from vagent._core import APIConnectOptions, ValidationError
from vagent.llm import AudioContent, ChatContext, FunctionCall, FunctionCallOutput, ImageContent
from vagent.plugins import openai

pytestmark = [pytest.mark.slow, pytest.mark.timeout(30)]

FAST = APIConnectOptions(max_retry=0, retry_interval=0.01, timeout=5.0)
SSE_HEADERS = {"content-type": "text/event-stream"}
CHAT = "/v1/chat/completions"


@pytest.fixture
async def server(nursery: trio.Nursery) -> FakeOpenAI:
    app = await start_server(nursery)
    app.reply(CHAT, Reply(headers=SSE_HEADERS, parts=[sse(chunk(content="ok"))]))
    return app


def make_llm(server: FakeOpenAI, model: str = "test-model", **kwargs: Any) -> openai.LLM:
    return openai.LLM(model=model, api_key="sk-test", base_url=server.url + "/v1", **kwargs)


async def send(llm: openai.LLM, ctx: ChatContext) -> None:
    async with llm, llm.chat(chat_ctx=ctx, conn_options=FAST) as stream:
        await stream.collect()


def user_parts(server: FakeOpenAI) -> list[dict[str, Any]]:
    (request,) = server.requests_to(CHAT)
    (message,) = request.json()["messages"]
    assert message["role"] == "user"
    parts: list[dict[str, Any]] = message["content"]
    return parts


async def test_a_video_frame_arrives_as_a_resized_jpeg_data_url(server: FakeOpenAI) -> None:
    ctx = ChatContext.empty()
    camera = frame(rtc.VideoBufferType.I420, 640, 480)
    image = ImageContent(
        image=camera, inference_width=320, inference_height=320, inference_detail="low"
    )
    ctx.add_message(role="user", content=["What do you see?", image])
    await send(make_llm(server), ctx)
    text, image_part = user_parts(server)
    assert text == {"type": "text", "text": "What do you see?"}
    assert image_part["type"] == "image_url"
    assert image_part["image_url"]["detail"] == "low"
    header, _, payload = image_part["image_url"]["url"].partition(",")
    assert header == "data:image/jpeg;base64"
    decoded = Image.open(io.BytesIO(base64.b64decode(payload)))
    assert (decoded.format, decoded.size) == ("JPEG", (320, 240))
    assert close_to(corner_colors(np.asarray(decoded)), [RED, GREEN, BLUE, WHITE])


async def test_a_png_frame_keeps_its_size_without_hints(server: FakeOpenAI) -> None:
    ctx = ChatContext.empty()
    image = ImageContent(image=frame(rtc.VideoBufferType.BGRA), mime_type="image/png")
    ctx.add_message(role="user", content=[image])
    await send(make_llm(server), ctx)
    (image_part,) = user_parts(server)
    header, _, payload = image_part["image_url"]["url"].partition(",")
    assert header == "data:image/png;base64"
    assert Image.open(io.BytesIO(base64.b64decode(payload))).size == (64, 48)


async def test_an_unencodable_frame_is_refused_before_any_request(server: FakeOpenAI) -> None:
    ctx = ChatContext.empty()
    i010 = rtc.VideoFrame(8, 6, rtc.VideoBufferType.I010, bytes(8 * 6 * 3))
    ctx.add_message(role="user", content=[ImageContent(image=i010)])
    llm = make_llm(server)
    async with llm:
        with pytest.raises(ValidationError, match="video frame of type I010"):
            llm.chat(chat_ctx=ctx, conn_options=FAST)
    assert server.requests_to(CHAT) == []


def speech(sample_rate: int, samples: int, value: int) -> rtc.AudioFrame:
    pcm = np.full(samples, value, np.int16)
    return rtc.AudioFrame(pcm.tobytes(), sample_rate, 1, samples)


def audio_context() -> ChatContext:
    ctx = ChatContext.empty()
    frames = [speech(24000, 2400, 1000), speech(24000, 4800, -2000)]  # 0.1 s + 0.2 s
    ctx.add_message(role="user", content=["Listen:", AudioContent(frame=frames, transcript="hi")])
    return ctx


@pytest.mark.parametrize(
    ("model", "kwargs"),
    [("gpt-4o-audio-preview", {}), ("gpt-audio-mini", {}), ("local-omni", {"audio_input": True})],
)
async def test_audio_models_receive_the_audio_as_wav(
    server: FakeOpenAI, model: str, kwargs: dict[str, Any]
) -> None:
    llm = make_llm(server, model, **kwargs)
    assert llm.audio_input
    await send(llm, audio_context())
    text, audio = user_parts(server)
    assert text == {"type": "text", "text": "Listen:"}
    assert audio["type"] == "input_audio"
    assert audio["input_audio"]["format"] == "wav"
    with wave.open(io.BytesIO(base64.b64decode(audio["input_audio"]["data"]))) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (24000, 1, 2)
        assert wav.getnframes() == 7200
        pcm = np.frombuffer(wav.readframes(7200), np.int16)
    assert pcm[:2400].tolist() == [1000] * 2400
    assert pcm[2400:].tolist() == [-2000] * 4800


@pytest.mark.parametrize(
    ("model", "kwargs"), [("gpt-4.1", {}), ("gpt-4o-audio-preview", {"audio_input": False})]
)
async def test_other_models_receive_the_transcript(
    server: FakeOpenAI, model: str, kwargs: dict[str, Any]
) -> None:
    llm = make_llm(server, model, **kwargs)
    assert not llm.audio_input
    await send(llm, audio_context())
    (request,) = server.requests_to(CHAT)
    assert request.json()["messages"] == [{"role": "user", "content": "Listen:\nhi"}]


async def test_audio_of_mixed_formats_is_refused(server: FakeOpenAI) -> None:
    ctx = ChatContext.empty()
    mixed = [speech(24000, 240, 1), speech(16000, 160, 1)]
    ctx.add_message(role="user", content=[AudioContent(frame=mixed)])
    llm = make_llm(server, "gpt-audio")
    async with llm:
        with pytest.raises(ValidationError, match="cannot send AudioContent as audio"):
            llm.chat(chat_ctx=ctx, conn_options=FAST)


async def test_summarize_with_the_openai_plugin(server: FakeOpenAI) -> None:
    server.replies[CHAT] = [
        Reply(
            headers=SSE_HEADERS,
            parts=[sse(chunk(content="User wants a table "), chunk(content="for four; Chez Paul"))],
        )
    ]
    ctx = ChatContext.empty()
    ctx.add_message(role="system", content="You book restaurants.")
    ctx.add_message(role="user", content="A table for four, Friday.")
    ctx.items.append(FunctionCall(call_id="c1", name="book", arguments='{"n": 4}'))
    ctx.items.append(FunctionCallOutput(call_id="c1", name="book", output="ok", is_error=False))
    ctx.add_message(role="assistant", content="Booked at Chez Paul.")
    ctx.add_message(role="user", content="Thanks!")
    ctx.add_message(role="assistant", content="You're welcome.")
    llm = make_llm(server)
    async with llm:
        result = await ctx._summarize(llm, keep_last_turns=1)
    assert result is ctx
    assert [(m.type, getattr(m, "role", None)) for m in ctx.items] == [
        ("message", "system"),
        ("message", "assistant"),
        ("message", "user"),
        ("message", "assistant"),
    ]
    summary = ctx.items[1].text_content  # type: ignore[union-attr]
    assert summary == (
        "<chat_history_summary>User wants a table for four; Chez Paul</chat_history_summary>"
    )
    # the server was asked to summarize the older turn and its tool call, nothing newer
    (request,) = server.requests_to(CHAT)
    system, user = request.json()["messages"]
    assert system["role"] == "system"
    assert "summar" in system["content"]
    assert user["content"].splitlines()[2:] == [
        "<user>A table for four, Friday.</user>",
        '<tool_call name="book" id="c1">{"n": 4}</tool_call>',
        '<tool_output name="book" id="c1">ok</tool_output>',
        "<assistant>Booked at Chez Paul.</assistant>",
    ]
