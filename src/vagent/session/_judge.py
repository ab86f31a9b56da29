"""LLM-as-judge for agent tests: does a message accomplish an intent?

The judge LLM is asked, with ``tool_choice="required"``, to call ``check_intent(success,
reason)``; temperature 0 is requested (providers that ignore it are fine). A model that
answers in text instead of calling the tool may write the same arguments as a JSON object,
which is accepted too, so small local models and scripted fakes work. Any vagent
:class:`~vagent.llm.LLM` can judge, :class:`~vagent.testing.fake_llm.FakeLLM` included::

    judge = FakeLLM(default=FakeLLMResponse(
        tool_calls=[FakeToolCall(name="check_intent", arguments={"success": True, "reason": "ok"})]
    ))
"""

from __future__ import annotations

from vagent._core import ValidationError
from vagent.llm import LLM, ChatContext, function_tool, parse_function_arguments

JUDGE_TOOL = "check_intent"

_INSTRUCTIONS = (
    "You evaluate replies of a conversational agent in a test.\n"
    "You get one message and the intent it should accomplish. Decide whether the message "
    "clearly accomplishes that intent.\n"
    f"Answer only by calling `{JUDGE_TOOL}(success: bool, reason: str)`.\n"
    "Be strict: when the message does not clearly accomplish the intent, answer "
    "success=false and say why."
)


@function_tool(name=JUDGE_TOOL)
def _check_intent(success: bool, reason: str) -> tuple[bool, str]:
    """Record the verdict on whether the message accomplishes the intent.

    Args:
        success: True when the message accomplishes the intent.
        reason: A short explanation of the verdict.
    """
    return success, reason


def judge_request(message: str, intent: str) -> ChatContext:
    """The chat context the judge LLM answers."""
    ctx = ChatContext.empty()
    ctx.add_message(role="system", content=_INSTRUCTIONS)
    ctx.add_message(
        role="user",
        content=f"Does this message accomplish the intent?\n\nIntent:\n{intent}\n\n"
        f"Message:\n{message}",
    )
    return ctx


async def judge_message(llm: LLM, *, message: str, intent: str) -> tuple[bool, str]:
    """``(success, reason)`` from ``llm``; raises :class:`ValidationError` when its answer
    holds no verdict."""
    # reasoning models refuse a temperature
    fixed_temperature = "gpt-5" in llm.model or llm.model.startswith(("o1", "o3", "o4"))
    async with llm.chat(
        chat_ctx=judge_request(message, intent),
        tools=[_check_intent],
        tool_choice="required",
        extra_kwargs={} if fixed_temperature else {"temperature": 0.0},
    ) as stream:
        response = await stream.collect()
    calls = [call for call in response.tool_calls if call.name == JUDGE_TOOL]
    text = calls[0].arguments if calls else response.text.strip()
    if not text:
        raise ValidationError("the judge LLM gave no verdict (no check_intent call, no text)")
    try:
        arguments = parse_function_arguments(text)
        success = arguments["success"]
        reason = arguments.get("reason", "")
    except (ValidationError, KeyError):
        raise ValidationError(f"the judge LLM's answer holds no verdict: {text[:200]!r}") from None
    if not isinstance(success, bool):
        raise ValidationError(f"the judge LLM's verdict is not a boolean: {success!r}")
    return success, str(reason)
