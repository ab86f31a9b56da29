"""vagent.rtc: the bridge to livekit rtc, the room wrapper, the job room connector.

livekit rtc needs an asyncio loop; vagent hosts one in a thread per job process
(:func:`open_rtc_bridge`) and talks to it through cancellable calls and bounded outlets.
:class:`Room` wraps an ``rtc.Room`` on that bridge; :class:`RoomBase` is the facade it
shares with ``vagent.testing.fake_room.FakeRoom``. The worker gets rooms for jobs from
:func:`create_room_connector`. :class:`RoomIO` connects an ``AgentSession`` to a room;
:class:`LiveKitAPI` calls LiveKit's server API (``JobContext.api``). Participants call each other
with RPC (``local_participant.register_rpc_method`` / ``perform_rpc``; :class:`RpcError`
and :class:`RpcInvocationData` are livekit rtc's own classes).
"""

from ._audio import (
    DEFAULT_AUDIO_BUFFER_FRAMES,
    DEFAULT_AUDIO_BUFFER_SECONDS,
    AudioFrameReceiver,
    BridgedAudioSource,
)
from ._bridge import (
    DEFAULT_CANCEL_TIMEOUT,
    DEFAULT_STOP_TIMEOUT,
    BridgeStatistics,
    RtcBridge,
    open_rtc_bridge,
)
from ._connector import RtcRoomConnector, create_room_connector
from ._errors import (
    BridgeClosedError,
    BridgeStopTimeoutError,
    EventOverflowError,
    RoomNotConnectedError,
    RtcCallCancelledError,
    RtcError,
)
from ._local_participant import PublishedAudioTrack, RtcLocalParticipant
from ._outlet import Outlet, OutletStatistics, OverflowPolicy
from ._room_base import (
    DEFAULT_EVENT_BUFFER,
    DEFAULT_PARTICIPANT_KINDS,
    DEFAULT_TEXT_BUFFER,
    LocalParticipantBase,
    PublishedAudio,
    RoomBase,
    RoomEventName,
    TextWriter,
)
from ._room_video_input import RoomVideoInput
from ._rpc import RpcError, RpcHandler, RpcInvocationData
from ._values import (
    ATTRIBUTE_AGENT_STATE,
    ATTRIBUTE_PUBLISH_ON_BEHALF,
    ATTRIBUTE_TRANSCRIPTION_FINAL,
    ATTRIBUTE_TRANSCRIPTION_SEGMENT_ID,
    ATTRIBUTE_TRANSCRIPTION_TRACK_ID,
    DTMF_DIGITS,
    TOPIC_CHAT,
    TOPIC_TRANSCRIPTION,
    AutoSubscribe,
    DataReceived,
    Disconnected,
    LocalTrackPublication,
    LocalTrackRepublished,
    ParticipantAttributesChanged,
    ParticipantConnected,
    ParticipantDisconnected,
    Reconnected,
    Reconnecting,
    RemoteParticipant,
    RemoteTrackPublication,
    RoomEvent,
    SipDTMFReceived,
    TextStreamInfo,
    TextStreamMessage,
    TrackPublished,
    TrackSubscribed,
    TrackUnpublished,
    TrackUnsubscribed,
    dtmf_code,
)
from ._video import DEFAULT_VIDEO_BUFFER_FRAMES, VideoFrameReceiver
from .room import (
    DISCONNECT_TIMEOUT,
    Room,
    RoomConnectError,
    open_room,
)
from .room_io import RoomIO
from .room_io_options import (
    DEFAULT_CLOSE_ON_DISCONNECT_REASONS,
    DEFAULT_ROOM_INPUT_OPTIONS,
    DEFAULT_ROOM_OUTPUT_OPTIONS,
    RoomInputOptions,
    RoomOutputOptions,
    TextInputEvent,
)
from .room_options import RoomOptions
from .server_api import LiveKitAPI, RoomService, TwirpError

__all__ = [
    "ATTRIBUTE_AGENT_STATE",
    "ATTRIBUTE_PUBLISH_ON_BEHALF",
    "ATTRIBUTE_TRANSCRIPTION_FINAL",
    "ATTRIBUTE_TRANSCRIPTION_SEGMENT_ID",
    "ATTRIBUTE_TRANSCRIPTION_TRACK_ID",
    "DEFAULT_AUDIO_BUFFER_FRAMES",
    "DEFAULT_AUDIO_BUFFER_SECONDS",
    "DEFAULT_CANCEL_TIMEOUT",
    "DEFAULT_CLOSE_ON_DISCONNECT_REASONS",
    "DEFAULT_EVENT_BUFFER",
    "DEFAULT_PARTICIPANT_KINDS",
    "DEFAULT_ROOM_INPUT_OPTIONS",
    "DEFAULT_ROOM_OUTPUT_OPTIONS",
    "DEFAULT_STOP_TIMEOUT",
    "DEFAULT_TEXT_BUFFER",
    "DEFAULT_VIDEO_BUFFER_FRAMES",
    "DISCONNECT_TIMEOUT",
    "DTMF_DIGITS",
    "TOPIC_CHAT",
    "TOPIC_TRANSCRIPTION",
    "AudioFrameReceiver",
    "AutoSubscribe",
    "BridgeClosedError",
    "BridgeStatistics",
    "BridgeStopTimeoutError",
    "BridgedAudioSource",
    "DataReceived",
    "Disconnected",
    "EventOverflowError",
    "LiveKitAPI",
    "LocalParticipantBase",
    "LocalTrackPublication",
    "LocalTrackRepublished",
    "Outlet",
    "OutletStatistics",
    "OverflowPolicy",
    "ParticipantAttributesChanged",
    "ParticipantConnected",
    "ParticipantDisconnected",
    "PublishedAudio",
    "PublishedAudioTrack",
    "Reconnected",
    "Reconnecting",
    "RemoteParticipant",
    "RemoteTrackPublication",
    "Room",
    "RoomBase",
    "RoomConnectError",
    "RoomEvent",
    "RoomEventName",
    "RoomIO",
    "RoomInputOptions",
    "RoomNotConnectedError",
    "RoomOptions",
    "RoomOutputOptions",
    "RoomService",
    "RoomVideoInput",
    "RpcError",
    "RpcHandler",
    "RpcInvocationData",
    "RtcBridge",
    "RtcCallCancelledError",
    "RtcError",
    "RtcLocalParticipant",
    "RtcRoomConnector",
    "SipDTMFReceived",
    "TextInputEvent",
    "TextStreamInfo",
    "TextStreamMessage",
    "TextWriter",
    "TrackPublished",
    "TrackSubscribed",
    "TrackUnpublished",
    "TrackUnsubscribed",
    "TwirpError",
    "VideoFrameReceiver",
    "create_room_connector",
    "dtmf_code",
    "open_room",
    "open_rtc_bridge",
]
