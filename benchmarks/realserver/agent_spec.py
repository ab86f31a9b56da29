"""What the benchmark agent does, on both sides (imported by both agent files: no vagent or
livekit-agents imports here)."""

USER_SENTENCE = "Hello there."
TRANSCRIPT = "hello there"  # what the scripted STT hears in any utterance
REPLY = "Hi."
TONE_HZ = 440.0
TONE_SECONDS = 1.0
TONE_AMPLITUDE = 0.3
TTS_SAMPLE_RATE = 24000

# silero VAD and turn taking, identical on both sides
VAD_MIN_SILENCE = 0.25
VAD_MIN_SPEECH = 0.05
VAD_ACTIVATION = 0.5
MIN_ENDPOINTING_DELAY = 0.0
MAX_ENDPOINTING_DELAY = 6.0


def tone_pcm() -> bytes:
    """``TONE_SECONDS`` of a sine at ``TONE_HZ``, int16 mono at ``TTS_SAMPLE_RATE``."""
    import math
    import struct

    n = int(TTS_SAMPLE_RATE * TONE_SECONDS)
    peak = TONE_AMPLITUDE * 32767
    return b"".join(
        struct.pack("<h", int(peak * math.sin(2 * math.pi * TONE_HZ * i / TTS_SAMPLE_RATE)))
        for i in range(n)
    )
