"""Settings of the WebSocket transport (one value for an endpoint, shared by its connections)."""

from __future__ import annotations

from attrs import field, frozen

from ._protocol import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE


def _rate(_instance: object, attribute: object, value: int) -> None:
    if not MIN_SAMPLE_RATE <= value <= MAX_SAMPLE_RATE:
        name = getattr(attribute, "name", "sample rate")
        raise ValueError(
            f"{name} must be between {MIN_SAMPLE_RATE} and {MAX_SAMPLE_RATE}, got {value}"
        )


def _positive(_instance: object, attribute: object, value: float) -> None:
    if not value > 0:
        raise ValueError(f"{getattr(attribute, 'name', 'value')} must be > 0, got {value}")


@frozen(kw_only=True)
class WebSocketOptions:
    """How an endpoint speaks to its clients.

    - ``input_sample_rate`` / ``output_sample_rate``: the rates in force until the client
      declares its own in a ``config`` message (Hz).
    - ``playback_reports``: whether clients report playback (``playback`` messages) unless
      their ``config`` says otherwise. Without reports the server estimates playout from its
      clock (see docs/websocket-transport.md).
    - ``playout_lead``: seconds of agent audio sent ahead of the estimated playout position
      (what the client buffers; also the most a pause leaves queued at the client).
    - ``max_held_seconds``: agent audio held by the server before the session's audio output
      waits (backpressure to the TTS).
    - ``max_queued_events`` / ``max_queued_audio_bytes``: the outbox bounds (see
      :mod:`._connection`); ``max_message_bytes``: the longest client message accepted.
    - ``send_timeout``: a send blocked this long means the client stopped reading (1008).
    - ``report_grace``: with playback reports, seconds past the estimated end of an
      utterance after which it counts as played even without the client's ``finished``.
    - ``close_timeout``: bound on sending the close frame.
    - ``input_buffer_frames``: client audio messages buffered for the session; beyond it new
      ones are dropped and counted (live audio cannot wait).
    """

    input_sample_rate: int = field(default=16000, validator=_rate)
    output_sample_rate: int = field(default=24000, validator=_rate)
    playback_reports: bool = False
    playout_lead: float = field(default=0.3, validator=_positive)
    max_held_seconds: float = field(default=0.75, validator=_positive)
    max_queued_events: int = field(default=1000, validator=_positive)
    max_queued_audio_bytes: int = field(default=64 * 1024, validator=_positive)
    max_message_bytes: int = field(default=256 * 1024, validator=_positive)
    send_timeout: float = field(default=10.0, validator=_positive)
    report_grace: float = field(default=2.0, validator=_positive)
    close_timeout: float = field(default=2.0, validator=_positive)
    input_buffer_frames: int = field(default=50, validator=_positive)
