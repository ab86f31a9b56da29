"""Length-prefixed frames over a byte stream.

Wire format of one frame::

    +----------------+-----------+---------------------+
    | length: u32 BE | type: u8  | payload (length B)  |
    +----------------+-----------+---------------------+

``length`` counts the payload only. A frame whose length exceeds ``max_frame_size`` is
refused as soon as its header is read (the payload is never buffered), so a corrupt or
hostile length cannot make the reader allocate or wait for gigabytes.
"""

from __future__ import annotations

import struct

import trio

from .errors import IPCProtocolError

HEADER = struct.Struct(">IB")
DEFAULT_MAX_FRAME_SIZE = 4 * 1024 * 1024
"""4 MiB: a job protobuf is a few KiB; log records are truncated well below this."""

_RECEIVE_CHUNK = 64 * 1024


def encode_frame(
    msg_type: int, payload: bytes, *, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE
) -> bytes:
    """Header + payload; raises :class:`IPCProtocolError` when the payload is too large."""
    if len(payload) > max_frame_size:
        raise IPCProtocolError(
            f"IPC frame of {len(payload)} bytes exceeds the maximum of {max_frame_size} bytes"
        )
    return HEADER.pack(len(payload), msg_type) + payload


class FrameReceiver:
    """Reads whole frames from a ``trio.abc.ReceiveStream``.

    :meth:`receive_frame` returns ``(type, payload)``, or ``None`` when the peer closed the
    stream cleanly between two frames. It raises :class:`IPCProtocolError` when the stream
    ends inside a frame or a frame is too large. Not safe for concurrent use by two tasks.
    """

    def __init__(
        self, stream: trio.abc.ReceiveStream, *, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE
    ) -> None:
        self._stream = stream
        self._buffer = bytearray()
        self._max_frame_size = max_frame_size

    async def _fill(self, needed: int, *, what: str) -> bool:
        """Read until ``needed`` bytes are buffered; False on EOF with an empty buffer.

        Always a checkpoint, like ``receive_some`` itself, even when the bytes are already
        buffered. Cancellation leaves the buffer intact, so no frame is lost.
        """
        if len(self._buffer) >= needed:
            await trio.lowlevel.checkpoint()
            return True
        while True:
            data = await self._stream.receive_some(_RECEIVE_CHUNK)
            if not data:
                if not self._buffer and what == "header":
                    return False
                raise IPCProtocolError(
                    f"truncated IPC frame: the peer closed the connection after "
                    f"{len(self._buffer)} of {needed} bytes of the frame {what}"
                )
            self._buffer += data
            if len(self._buffer) >= needed:
                return True

    async def receive_frame(self) -> tuple[int, bytes] | None:
        if not await self._fill(HEADER.size, what="header"):
            return None
        length, msg_type = HEADER.unpack_from(self._buffer)
        if length > self._max_frame_size:
            raise IPCProtocolError(
                f"IPC frame of {length} bytes exceeds the maximum of {self._max_frame_size} bytes"
            )
        total = HEADER.size + length
        await self._fill(total, what="payload")
        payload = bytes(self._buffer[HEADER.size : total])
        del self._buffer[:total]
        return msg_type, payload
