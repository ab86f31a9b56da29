"""An interruption stops the agent's audio at once, even while a TTS call cannot be cancelled.

Piper synthesizes each sentence in a worker thread that finishes its sentence before a
cancellation takes effect (seconds on a busy machine). The interrupted step must clear the
audio output when the interruption happens, not once that call returns: until the output is
cleared the transcript synchronizer's clock keeps running and keeps showing words the user
never heard, and the history then keeps them. Found by the real-server barge-in test.
"""

from __future__ import annotations

import anyio
from session_scenario import messages, reference_speech, voice_session

from vagent._core import DEFAULT_API_CONNECT_OPTIONS, APIConnectOptions
from vagent.pipeline.tts import TTS, AudioEmitter, ChunkedStream, TTSCapabilities
from vagent.session.word_timing import STANDARD_SPEECH_RATE, _hyphen_count
from vagent.testing.fake_llm import FakeLLMResponse

SYNTHESIS_SECONDS = 3.0  # per sentence, uncancellable (a worker thread, as piper's)
AUDIO_SECONDS = 4.0  # per sentence
REPLY = "One two three four five six seven eight. Nine ten eleven twelve. Thirteen fourteen."


class UncancellableTTS(TTS):
    """Non-streaming, like piper: each sentence takes a while and ignores cancellation."""

    def __init__(self) -> None:
        super().__init__(
            capabilities=TTSCapabilities(streaming=False), sample_rate=24000, num_channels=1
        )

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> ChunkedStream:
        return _Stream(tts=self, input_text=text, conn_options=conn_options)


class _Stream(ChunkedStream):
    async def _synthesize(self, emitter: AudioEmitter) -> None:
        with anyio.CancelScope(shield=True):
            await anyio.sleep(SYNTHESIS_SECONDS)
        await emitter.push(bytes(2 * int(24000 * AUDIO_SECONDS)))


async def test_an_interruption_clears_the_audio_before_the_step_unwinds(
    autojump_clock: object,
) -> None:
    speeches = (reference_speech(), reference_speech(9.0, 11.0, "wait"))
    cleared_at: list[float] = []
    async with voice_session(
        speeches=speeches,
        responses=[FakeLLMResponse(input="hello there", content=REPLY, ttft=0.0, duration=0.0)],
        tts=UncancellableTTS(),
        can_pause=False,
        synchronize=True,
        false_interruption_timeout=None,
    ) as voice:
        voice.audio_out.on("playback_finished", lambda ev: cleared_at.append(anyio.current_time()))
        t0 = voice.recorder.t0
        await anyio.sleep(16)
    interrupted = voice.audio_out.finished_events[0]
    assert interrupted.interrupted
    # the user spoke from 9.0; after 0.5 s of speech the agent stops talking, right away
    assert cleared_at[0] - t0 < 9.5 + 0.2, cleared_at[0] - t0
    # the history keeps the words the synchronizer places before the position played, not
    # the ones its clock released while the output waited to be cleared (before: all of them)
    told = messages(voice.session)[1]
    assert told[0] == "assistant"
    assert told[2]
    heard, before = [], 0.0
    for word in REPLY.split():
        if before / STANDARD_SPEECH_RATE >= interrupted.playback_position:
            break
        heard.append(word)
        before += _hyphen_count(word)
    assert told[1].split() == heard
