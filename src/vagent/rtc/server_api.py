"""LiveKit's server API client, now :mod:`vagent.api` (kept so older imports work).

``JobContext.api`` and ``from vagent import api`` give the full client: rooms, agent
dispatch, SIP and egress.
"""

from vagent.api import LiveKitAPI, RoomService, TwirpError

__all__ = ["LiveKitAPI", "RoomService", "TwirpError"]
