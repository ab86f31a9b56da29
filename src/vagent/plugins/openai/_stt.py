"""Speech-to-text over ``/audio/transcriptions`` (batch; stream it with a VAD)."""

from __future__ import annotations

import io
import wave
from types import TracebackType
from typing import Self

import httpx  # noqa: ASYNC127 (httpx is the project's HTTP client)
from livekit import rtc

from vagent._core import (
    NOT_GIVEN,
    APIConnectionError,
    APIConnectOptions,
    NotGivenOr,
    is_given,
    shortuuid,
)
from vagent.pipeline.stt import (
    STT as BaseSTT,
    SpeechData,
    SpeechEvent,
    SpeechEventType,
    STTCapabilities,
)

from ._client import HTTPClient, map_transport_errors, raise_for_status, timeout_for

DEFAULT_STT_MODEL = "gpt-4o-mini-transcribe"


def encode_wav(frame: rtc.AudioFrame) -> bytes:
    """A complete WAV file (16-bit PCM) holding ``frame``."""
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(frame.num_channels)
        wav.setsampwidth(2)
        wav.setframerate(frame.sample_rate)
        wav.writeframes(bytes(frame.data.cast("B")))
    return out.getvalue()


class STT(BaseSTT):
    """Batch transcription (``recognize``) with an OpenAI-compatible ``/audio/transcriptions``.

    The audio is uploaded as a WAV file (multipart form) with ``model``, ``language`` (an
    ISO-639-1 code; ``detect_language=True`` leaves it out) and an optional ``prompt``. No
    native streaming: for a live stream wrap it, ``stt.StreamAdapter(stt=openai.STT(),
    vad=...)``. Lifetime and keys as for :class:`vagent.plugins.openai.LLM`.
    """

    def __init__(
        self,
        *,
        model: str = DEFAULT_STT_MODEL,
        language: str = "en",
        detect_language: bool = False,
        prompt: NotGivenOr[str] = NOT_GIVEN,
        api_key: NotGivenOr[str] = NOT_GIVEN,
        base_url: NotGivenOr[str] = NOT_GIVEN,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(capabilities=STTCapabilities(streaming=False, interim_results=False))
        self._model = model
        self._language = language
        self._detect_language = detect_language
        self._prompt = prompt
        self._http = HTTPClient(
            api_key=api_key, base_url=base_url, client=client, owner="openai.STT"
        )

    @property
    def model(self) -> str:
        return self._model

    @property
    def provider(self) -> str:
        return "openai"

    async def _recognize_impl(
        self,
        buffer: rtc.AudioFrame,
        *,
        language: NotGivenOr[str],
        conn_options: APIConnectOptions,
    ) -> SpeechEvent:
        lang = language if is_given(language) else self._language
        data = {"model": self._model, "response_format": "json"}
        if not self._detect_language and lang:
            data["language"] = lang
        if is_given(self._prompt):
            data["prompt"] = self._prompt
        what = f"{self.label} recognize"
        with map_transport_errors(what):
            async with self._http.stream(
                "POST",
                "audio/transcriptions",
                data=data,
                files={"file": ("audio.wav", encode_wav(buffer), "audio/wav")},
                timeout=timeout_for(conn_options.timeout),
            ) as response:
                await raise_for_status(response, what=what)
                await response.aread()
        try:
            text = response.json()["text"]
        except (ValueError, KeyError, TypeError) as exc:
            raise APIConnectionError(
                f"{what}: unexpected response body {response.text[:200]!r}"
            ) from exc
        duration = buffer.samples_per_channel / buffer.sample_rate
        return SpeechEvent(
            type=SpeechEventType.FINAL_TRANSCRIPT,
            request_id=response.headers.get("x-request-id") or shortuuid("STT_"),
            alternatives=[
                SpeechData(language=lang or "", text=str(text).strip(), end_time=duration)
            ],
        )

    async def aclose(self) -> None:
        """Close the connection pool (idempotent)."""
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
