"""Structured conversations (``livekit.agents.beta.workflows`` names): :class:`TaskGroup`
runs tasks in order, and prebuilt tasks collect one value from the user (an email address,
a postal address, a phone number, a date of birth, a name)."""

from .address import GetAddressResult, GetAddressTask
from .dob import GetDOBResult, GetDOBTask
from .email_address import GetEmailResult, GetEmailTask
from .name import GetNameResult, GetNameTask
from .phone_number import GetPhoneNumberResult, GetPhoneNumberTask
from .task_group import TaskCompletedEvent, TaskGroup, TaskGroupResult

__all__ = [
    "GetAddressResult",
    "GetAddressTask",
    "GetDOBResult",
    "GetDOBTask",
    "GetEmailResult",
    "GetEmailTask",
    "GetNameResult",
    "GetNameTask",
    "GetPhoneNumberResult",
    "GetPhoneNumberTask",
    "TaskCompletedEvent",
    "TaskGroup",
    "TaskGroupResult",
]
