"""Text-to-speech over ``/audio/speech`` with a streamed response body."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Literal, Self

import httpx  # noqa: ASYNC127 (httpx is the project's HTTP client)
import numpy as np
from livekit import rtc

from vagent._core import (
    DEFAULT_API_CONNECT_OPTIONS,
    NOT_GIVEN,
    APIConnectOptions,
    NotGivenOr,
    ValidationError,
    is_given,
)
from vagent.pipeline.tts import (
    TTS as BaseTTS,
    AudioEmitter,
    ChunkedStream,
    EncodedAudioDecoder,
    TTSCapabilities,
)

from ._client import HTTPClient, map_transport_errors, raise_for_status, read_body, timeout_for

DEFAULT_TTS_MODEL = "gpt-4o-mini-tts"
DEFAULT_VOICE = "ash"
SAMPLE_RATE = 24000  # what /audio/speech produces for every format

ResponseFormat = Literal["pcm", "mp3", "opus", "wav", "flac"]


class TTS(BaseTTS):
    """Speech from an OpenAI-compatible ``/audio/speech`` (24 kHz mono).

    ``response_format="pcm"`` (the default: raw s16le at 24 kHz) is framed as the body
    streams in, so the first audio leaves after the first bytes. ``mp3``, ``opus``, ``wav``
    and ``flac`` are decoded with the pipeline's decoder once the whole body arrived (more
    latency, less bandwidth). ``voice``, ``model``, ``instructions`` and ``speed`` go into
    each request. No native streaming: wrap it in ``tts.StreamAdapter`` to speak text as it
    arrives. Lifetime and keys as for :class:`vagent.plugins.openai.LLM`.
    """

    def __init__(
        self,
        *,
        model: str = DEFAULT_TTS_MODEL,
        voice: str = DEFAULT_VOICE,
        instructions: NotGivenOr[str] = NOT_GIVEN,
        speed: NotGivenOr[float] = NOT_GIVEN,
        response_format: ResponseFormat = "pcm",
        api_key: NotGivenOr[str] = NOT_GIVEN,
        base_url: NotGivenOr[str] = NOT_GIVEN,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        if response_format not in ("pcm", "mp3", "opus", "wav", "flac"):
            raise ValidationError(f"openai.TTS: unsupported response_format {response_format!r}")
        super().__init__(
            capabilities=TTSCapabilities(streaming=False), sample_rate=SAMPLE_RATE, num_channels=1
        )
        self._model = model
        self._voice = voice
        self._instructions = instructions
        self._speed = speed
        self._format: ResponseFormat = response_format
        self._http = HTTPClient(
            api_key=api_key, base_url=base_url, client=client, owner="openai.TTS"
        )

    @property
    def model(self) -> str:
        return self._model

    @property
    def provider(self) -> str:
        return "openai"

    def request_body(self, text: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self._model,
            "voice": self._voice,
            "input": text,
            "response_format": self._format,
        }
        if is_given(self._instructions):
            body["instructions"] = self._instructions
        if is_given(self._speed):
            body["speed"] = self._speed
        return body

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> ChunkedStream:
        return _SpeechStream(tts=self, input_text=text, conn_options=conn_options)

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


class _SpeechStream(ChunkedStream):
    def __init__(self, *, tts: TTS, input_text: str, conn_options: APIConnectOptions) -> None:
        super().__init__(tts=tts, input_text=input_text, conn_options=conn_options)
        self._openai = tts

    async def _synthesize(self, emitter: AudioEmitter) -> None:
        tts = self._openai
        http = tts._http
        what = f"{tts.label} synthesize"
        decoder = None if tts._format == "pcm" else EncodedAudioDecoder(tts._format)
        with map_transport_errors(what):
            async with http.stream(
                "POST",
                "audio/speech",
                json=tts.request_body(self.input_text),
                timeout=timeout_for(self._conn_options.timeout),
            ) as response:
                await raise_for_status(response, what=what)

                async def on_data(data: bytes) -> None:  # noqa: ASYNC910 (reads checkpoint)
                    if decoder is None:
                        await emitter.push(data)
                    else:
                        decoder.push(data)

                await read_body(response, on_data)
        if decoder is not None:
            samples, rate = decoder.finish()
            if samples.shape[0]:
                mono = samples if samples.shape[1] == 1 else _downmix(samples)
                frame = rtc.AudioFrame(np.ascontiguousarray(mono).tobytes(), rate, 1, mono.shape[0])
                await emitter.push_frame(frame)


def _downmix(samples: np.ndarray) -> np.ndarray:
    mono: np.ndarray = samples.mean(axis=1, dtype=np.float64).round().astype(np.int16)
    return mono.reshape(-1, 1)
