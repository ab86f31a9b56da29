"""The model and provider names a scripted fake reports (FakeLLM, FakeSTT, FakeTTS)."""

from __future__ import annotations


class ModelNames:
    """``model`` / ``provider`` as the fake's constructor stored them (``_model``,
    ``_provider``); listed first among a fake's bases, so they override the provider base's."""

    _model: str
    _provider: str

    @property
    def model(self) -> str:
        return self._model

    @property
    def provider(self) -> str:
        return self._provider
