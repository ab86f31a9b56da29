"""Every public name of the pipeline namespaces is exported once, exists and is documented."""

from __future__ import annotations

import importlib
import inspect

import pytest

NAMESPACES = [
    "vagent.pipeline",
    "vagent.pipeline.audio",
    "vagent.pipeline.stt",
    "vagent.pipeline.tts",
    "vagent.pipeline.vad",
    "vagent.pipeline.tokenize",
    "vagent.pipeline.tokenize.basic",
    "vagent.pipeline.usage",
    "vagent.testing.fake_stt",
    "vagent.testing.fake_tts",
    "vagent.testing.fake_vad",
]


@pytest.mark.parametrize("name", NAMESPACES)
def test_public_names_are_exported_once_and_documented(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    assert len(exported) == len(set(exported)), "duplicate names in __all__"
    for public in exported:
        obj = getattr(module, public)
        if inspect.isclass(obj):
            assert obj.__dict__.get("__doc__"), f"{name}.{public} has no docstring"
        elif inspect.isfunction(obj):
            assert obj.__doc__, f"{name}.{public} has no docstring"
