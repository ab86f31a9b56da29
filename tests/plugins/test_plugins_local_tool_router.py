"""How the local LLM decides that a message needs a tool (no model needed for the words)."""

from __future__ import annotations

from vagent.llm import function_tool
from vagent.plugins.local._local_llm import _reply_messages
from vagent.plugins.local._tool_router import choice_grammar, content_words, match_by_words


@function_tool
async def get_weather(location: str) -> str:
    """Get the weather in a place: temperature, hot or cold, rain, umbrella, forecast.

    Args:
        location: The city, for example "Tokyo".
    """
    return "sunny"


@function_tool
async def get_time(location: str) -> str:
    """Get the current local time in a place: what time it is, morning or evening.

    Args:
        location: The city, for example "Paris".
    """
    return "noon"


TOOLS = [get_weather, get_time]


def test_words_are_stemmed_and_common_ones_left_out() -> None:
    assert content_words("Is it raining in Tokyo right now?") == {"rain", "tokyo"}


def test_a_message_sharing_a_tools_words_chooses_it() -> None:
    assert match_by_words("Do I need an umbrella in Seattle?", TOOLS) is get_weather
    assert match_by_words("Is it morning or evening in Los Angeles?", TOOLS) is get_time
    assert match_by_words("How hot is it in Tokyo today?", TOOLS) is get_weather


def test_no_shared_word_or_a_tie_chooses_nothing() -> None:
    assert match_by_words("Tell me a short joke.", TOOLS) is None
    assert match_by_words("What is the capital of France?", TOOLS) is None
    # cities in the argument examples are no topic of the tool
    assert match_by_words("I love Paris and Tokyo", TOOLS) is None
    assert match_by_words("the weather and the time", TOOLS) is None  # one word each


def test_the_model_may_only_answer_a_tool_name_or_none() -> None:
    assert choice_grammar(["get_weather", "get_time"]) == (
        'root ::= "get_weather" | "get_time" | "none"'
    )


def test_tool_results_become_a_fact_under_the_question() -> None:
    from vagent.llm import ChatContext, FunctionCall, FunctionCallOutput

    ctx = ChatContext.empty()
    ctx.add_message(role="system", content="Be brief.")
    for n in range(5):
        ctx.add_message(role="user", content=f"old question {n}")
        ctx.add_message(role="assistant", content=f"old answer {n}")
    ctx.add_message(role="user", content="Weather in Paris?")
    ctx.items.append(FunctionCall(call_id="c1", name="get_weather", arguments="{}"))
    ctx.items.append(FunctionCallOutput(call_id="c1", output="sunny", is_error=False))

    messages = _reply_messages(ctx)

    assert messages[0] == {"role": "system", "content": "Be brief."}
    assert messages[-1] == {
        "role": "user",
        "content": "Weather in Paris?\n(Fact: sunny.)",
    }
    assert len(messages) == 1 + 6  # the instructions and the last 6 messages
