"""Every public name of vagent.llm is exported once and documented."""

from __future__ import annotations

import inspect

import vagent.llm
import vagent.testing.fake_llm as fake_llm

ALIASES = {"ChatContent", "ChatItem", "ChatRole", "ToolChoice"}  # type aliases: no docstring


def test_all_names_exist_once_and_are_documented() -> None:
    names = vagent.llm.__all__
    assert len(names) == len(set(names))
    assert sorted(names) == sorted(n for n in dir(vagent.llm) if n in names)
    for name in names:
        obj = getattr(vagent.llm, name)
        if name in ALIASES:
            continue
        assert (obj.__doc__ or "").strip(), f"vagent.llm.{name} has no docstring"


def test_the_fake_llm_module_documents_its_public_names() -> None:
    for name in ("FakeLLM", "FakeLLMResponse", "FakeLLMFailure", "FakeToolCall", "FakeLLMRequest"):
        assert (getattr(fake_llm, name).__doc__ or "").strip(), name
    assert inspect.getdoc(fake_llm)
