"""``RoomOptions``: livekit-agents' one value for what a session reads from and publishes to
a room, as ``session.start(agent, room=ctx.room, room_options=RoomOptions(...))``.

It maps onto :class:`~vagent.rtc.RoomInputOptions` and :class:`~vagent.rtc.RoomOutputOptions`
(which ``room_input_options=`` / ``room_output_options=`` still accept). Each input and
output is on (``True``, the default except video) or off (``False``), or given as the
matching vagent options value.
"""

from __future__ import annotations

import logging

import attrs
from attrs import frozen

from .room_io_options import RoomInputOptions, RoomOutputOptions

__all__ = ["RoomOptions"]

logger = logging.getLogger("vagent.rtc")


@frozen(kw_only=True)
class RoomOptions:
    """What a session reads from and publishes to its room (module docstring).

    ``participant_identity`` links the session to that participant (default: the first
    one to join). ``close_on_disconnect`` closes the session when the linked participant
    leaves (see :class:`RoomInputOptions`). ``delete_room_on_close`` is accepted but not
    acted on yet: vagent logs a warning and the room stays until the server's empty timeout
    removes it (deleting a room takes the API key, which the session does not hold).
    """

    text_input: bool = True
    audio_input: RoomInputOptions | bool = True
    video_input: bool = False
    audio_output: RoomOutputOptions | bool = True
    text_output: bool = True
    participant_identity: str | None = None
    close_on_disconnect: bool = True
    delete_room_on_close: bool = False

    def input_options(self) -> RoomInputOptions:
        """The :class:`RoomInputOptions` these options mean."""
        base = self.audio_input if isinstance(self.audio_input, RoomInputOptions) else None
        return attrs.evolve(
            base or RoomInputOptions(),
            text_enabled=self.text_input,
            audio_enabled=self.audio_input is not False,
            video_enabled=self.video_input,
            close_on_disconnect=self.close_on_disconnect,
        )

    def output_options(self) -> RoomOutputOptions:
        """The :class:`RoomOutputOptions` these options mean."""
        base = self.audio_output if isinstance(self.audio_output, RoomOutputOptions) else None
        return attrs.evolve(
            base or RoomOutputOptions(),
            audio_enabled=self.audio_output is not False,
            transcription_enabled=self.text_output,
        )

    def warn_unsupported(self) -> None:
        """Log what these options ask that vagent does not do (``delete_room_on_close``)."""
        if self.delete_room_on_close:
            logger.warning(
                "RoomOptions(delete_room_on_close=True) is not supported yet: the room is "
                "left to the server's empty timeout"
            )
