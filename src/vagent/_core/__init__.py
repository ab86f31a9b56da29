"""Small shared helpers: sentinels, errors, retry policy, channels, owned streams."""

from .channels import drain_nowait, open_channel, send_or_drop
from .clock import set_wallclock, wallclock
from .connect_options import DEFAULT_API_CONNECT_OPTIONS, APIConnectOptions
from .emitter import EventEmitter
from .errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AssignmentTimeoutError,
    OwnershipError,
    UnexpectedModelBehavior,
    VagentError,
    ValidationError,
)
from .excgroups import collapse_exception_group, collapse_excgroups
from .ids import shortuuid
from .not_given import NOT_GIVEN, NotGiven, NotGivenOr, is_given
from .owned_stream import OwnedStream
from .owner import current_owner_task_group, owner_task_group
from .retry import retry_api_call
from .timed_string import TimedString

__all__ = [
    "DEFAULT_API_CONNECT_OPTIONS",
    "NOT_GIVEN",
    "APIConnectOptions",
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AssignmentTimeoutError",
    "EventEmitter",
    "NotGiven",
    "NotGivenOr",
    "OwnedStream",
    "OwnershipError",
    "TimedString",
    "UnexpectedModelBehavior",
    "VagentError",
    "ValidationError",
    "collapse_exception_group",
    "collapse_excgroups",
    "current_owner_task_group",
    "drain_nowait",
    "is_given",
    "open_channel",
    "owner_task_group",
    "retry_api_call",
    "send_or_drop",
    "set_wallclock",
    "shortuuid",
    "wallclock",
]
