"""examples/mcp_concierge.py, scripted through the public API: its real MCP server (a
subprocess), a scripted LLM, and a fake TTS that records what it was asked to say."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import anyio
import pytest

from vagent.session import AgentSession
from vagent.testing.fake_io import FakeAudioOutput, FakeTextOutput
from vagent.testing.fake_llm import FakeLLM, FakeLLMResponse, FakeToolCall
from vagent.testing.fake_tts import FakeTTS, FakeTTSResponse

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "mcp_concierge.py"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mcp_concierge", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # as an import would: type hints resolve in it
    spec.loader.exec_module(module)
    return module


async def test_concierge_calls_the_mcp_tool_and_speaks_only_the_spoken_field() -> None:
    example = load_example()
    reply = {"spoken": "It is **partly cloudy** in Grenoble today.", "mood": "happy"}
    question = "What's the weather in Grenoble?"
    llm = FakeLLM(
        [
            FakeLLMResponse(
                input=question,
                tool_calls=[FakeToolCall(name="get_forecast", arguments={"city": "Grenoble"})],
            ),
            FakeLLMResponse(input=question, content=json.dumps(reply)),
        ]
    )
    tts = FakeTTS(default=FakeTTSResponse(audio_duration=0.5, ttfb=0.05))
    concierge = example.Concierge()
    async with AgentSession(llm=llm, tts=tts, mcp_servers=[example.weather_server()]) as session:
        text_out = FakeTextOutput()
        async with FakeAudioOutput() as audio_out:
            session.output.audio = audio_out
            session.output.transcription = text_out
            await session.start(concierge)
            result = await session.run(user_input=question)
            await anyio.sleep(1)
    # the real MCP server answered the tool call
    output = result.expect.contains_function_call_output(is_error=False).event().item
    assert output.output.endswith("degrees Celsius in Grenoble")
    # both requests asked for the Reply format and offered the MCP tool
    assert all(r.response_format is not None for r in llm.requests)
    assert llm.requests[0].response_format.output_type is example.Reply  # type: ignore[union-attr]
    assert [t.id for t in llm.requests[0].tools] == ["get_forecast"]
    # the listener hears the spoken field only (markdown filtered), never the JSON
    spoken = "It is partly cloudy in Grenoble today."
    assert "".join(tts.requests) == spoken
    assert text_out.text == spoken
    assert concierge.replies == [example.Reply(spoken=reply["spoken"], mood="happy")]


def test_the_example_documents_how_to_run_it() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert "vagent run examples/mcp_concierge.py" in text
    assert (EXAMPLE.parent / "mcp_weather_server.py").exists()
