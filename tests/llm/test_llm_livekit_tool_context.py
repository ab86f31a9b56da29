"""livekit-agents' tests/test_tools.py, ``TestToolContext``, ported to vagent's API.

livekit's ``ToolContext.parse_function_tools("openai")`` / ``("openai.responses")`` are, per
tool, vagent's ``build_legacy_openai_schema(tool)`` / ``(tool, internally_tagged=True)``.
livekit's private ``ToolContext._exclude`` has no counterpart, so its two tests are left out.

Two different function tools with one name are refused when the context is built, so the
reference's test that plants a second implementation in the private name map
(``test_not_equals_same_name_different_implementation``) builds two contexts from the two
implementations instead. vagent raises its ``ValidationError`` (a ``ValueError``) where
livekit raises ``ValueError``.
"""

from __future__ import annotations

import copy

import pytest

from reference_tools import mock_tool_1
from vagent.llm import (
    ProviderTool,
    Tool,
    ToolContext,
    Toolset,
    build_legacy_openai_schema,
    function_tool,
)


@function_tool
async def mock_tool_2(arg1: str) -> str:
    """Test tool 2"""
    return arg1


@function_tool
async def mock_tool_3() -> str:
    """Test tool 3"""
    return "tool3"


@function_tool(
    raw_schema={
        "name": "raw_tool_1",
        "description": "A raw tool",
        "parameters": {
            "type": "object",
            "properties": {},
        },
    }
)
async def raw_tool_1(raw_arguments: dict[str, object]) -> str:
    """Raw test tool 1"""
    # vagent refuses a raw tool without ``raw_arguments`` when it is defined; livekit
    # accepts it and fails each call (it always passes ``raw_arguments``)
    return "raw1"


class DummyProviderTool(ProviderTool):
    def __init__(self, id: str) -> None:
        super().__init__(id=id)


class MockToolset1(Toolset):
    """A toolset whose tools come from an overridden ``tools`` property, as livekit's do."""

    def __init__(self) -> None:
        super().__init__(id="mock_toolset_1")

    @property
    def tools(self) -> list[Tool | Toolset]:
        return [mock_tool_1, mock_tool_2]


class MockToolset2(Toolset):
    def __init__(self) -> None:
        super().__init__(id="mock_toolset_2")

    @property
    def tools(self) -> list[Tool | Toolset]:
        return [mock_tool_2, DummyProviderTool("provider1")]


def test_equals_empty_contexts() -> None:
    assert ToolContext.empty() == ToolContext.empty()


def test_equals_same_tools() -> None:
    assert ToolContext([mock_tool_1, mock_tool_2]) == ToolContext([mock_tool_1, mock_tool_2])


def test_equals_same_tools_different_order() -> None:
    assert ToolContext([mock_tool_1, mock_tool_2]) == ToolContext([mock_tool_2, mock_tool_1])


def test_not_equals_different_tools() -> None:
    assert ToolContext([mock_tool_1, mock_tool_2]) != ToolContext([mock_tool_1, mock_tool_3])


def test_not_equals_different_provider_tools() -> None:
    provider1 = DummyProviderTool("provider1")
    provider2 = DummyProviderTool("provider2")
    provider3 = DummyProviderTool("provider3")

    ctx1 = ToolContext([mock_tool_1, provider1, provider2])
    ctx2 = ToolContext([mock_tool_1, provider1, provider3])
    assert ctx1 != ctx2


def test_equals_different_provider_tools_order() -> None:
    provider1 = DummyProviderTool("provider1")
    provider2 = DummyProviderTool("provider2")

    ctx1 = ToolContext([mock_tool_1, provider1, provider2])
    ctx2 = ToolContext([mock_tool_1, provider2, provider1])
    assert ctx1 == ctx2


def test_not_equals_missing_provider_tools() -> None:
    provider1 = DummyProviderTool("provider1")
    assert ToolContext([mock_tool_1, provider1]) != ToolContext([mock_tool_1])


def test_copy_equals_original() -> None:
    ctx1 = ToolContext([mock_tool_1, mock_tool_2])
    assert ctx1 == ctx1.copy()


def test_openai_responses_raw_schema_does_not_mutate_tool_schema() -> None:
    ctx = ToolContext([raw_tool_1])
    raw_schema = copy.deepcopy(raw_tool_1.info.raw_schema)

    responses_tools = [
        build_legacy_openai_schema(t, internally_tagged=True) for t in ctx.function_tools.values()
    ]

    assert responses_tools[0]["type"] == "function"
    assert raw_tool_1.info.raw_schema == raw_schema
    assert "type" not in raw_tool_1.info.raw_schema

    chat_tools = [build_legacy_openai_schema(t) for t in ctx.function_tools.values()]
    assert chat_tools[0] == {
        "type": "function",
        "function": raw_tool_1.info.raw_schema,
    }
    assert "type" not in chat_tools[0]["function"]

    # vagent: what a provider does to the schema it was given stays out of the tool's own
    responses_tools[0]["parameters"]["required"] = []
    chat_tools[0]["function"]["parameters"]["properties"]["x"] = {"type": "string"}
    assert raw_tool_1.info.raw_schema == raw_schema


def test_update_tools_changes_equality() -> None:
    ctx1 = ToolContext([mock_tool_1])
    ctx2 = ToolContext([mock_tool_1])
    assert ctx1 == ctx2

    ctx1.update_tools([mock_tool_1, mock_tool_2])
    assert ctx1 != ctx2


def test_not_equals_same_name_different_implementation() -> None:
    @function_tool
    async def duplicate_name() -> str:
        """Second implementation"""
        return "second"

    ctx1 = ToolContext([mock_tool_1, duplicate_name])

    @function_tool  # type: ignore[no-redef]
    async def duplicate_name() -> str:
        """Third implementation"""
        return "third"

    ctx2 = ToolContext([mock_tool_1, duplicate_name])

    assert ctx1 != ctx2


def test_all_tools_returns_combined_list() -> None:
    provider1 = DummyProviderTool("provider1")
    provider2 = DummyProviderTool("provider2")

    ctx = ToolContext([mock_tool_1, mock_tool_2, provider1, provider2])
    all_tools = ctx.flatten()

    assert len(all_tools) == 4
    assert mock_tool_1 in all_tools
    assert mock_tool_2 in all_tools
    assert provider1 in all_tools
    assert provider2 in all_tools


def test_toolset_with_regular_tools() -> None:
    toolset = MockToolset1()  # contains mock_tool_1, mock_tool_2
    ctx = ToolContext([toolset, mock_tool_3])

    all_tools = ctx.flatten()
    assert mock_tool_1 in all_tools
    assert mock_tool_2 in all_tools
    assert mock_tool_3 in all_tools
    assert len(ctx.function_tools) == 3
    assert toolset in ctx.toolsets

    # copy should preserve toolsets
    ctx_copy = ctx.copy()
    assert ctx == ctx_copy
    assert toolset in ctx_copy.toolsets


def test_toolset_same_instance_dedup() -> None:
    # same instance appearing in multiple places is allowed (deduplication)
    toolset = MockToolset1()  # contains mock_tool_1, mock_tool_2
    ToolContext([toolset, mock_tool_1])  # same mock_tool_1 instance, no conflict
    ToolContext([mock_tool_1, toolset])
    ToolContext([MockToolset1(), MockToolset2()])  # same mock_tool_2 instance


def test_toolset_duplicate_name_conflict() -> None:
    toolset = MockToolset1()  # contains mock_tool_1, mock_tool_2

    # different instances with the same name should raise
    @function_tool
    async def mock_tool_1() -> str:
        """Duplicate name, different instance"""
        return ""

    with pytest.raises(ValueError, match="duplicate function name"):
        ToolContext([toolset, mock_tool_1])


def test_toolset_equality() -> None:
    toolset = MockToolset1()

    # same toolset instance -> equal
    ctx1 = ToolContext([toolset, mock_tool_3])
    ctx2 = ToolContext([mock_tool_3, toolset])  # different order
    assert ctx1 == ctx2

    # different toolset instances -> not equal
    ctx3 = ToolContext([MockToolset1()])
    ctx4 = ToolContext([MockToolset1()])
    assert ctx3 != ctx4

    # toolset vs expanded tools -> not equal
    ctx5 = ToolContext([toolset])
    ctx6 = ToolContext([mock_tool_1, mock_tool_2])
    assert ctx5 != ctx6
