"""Structured conversations (``livekit.agents.beta.workflows`` names): :class:`TaskGroup`
runs tasks in order, and prebuilt tasks collect one value from the user (an email address,
a postal address, a phone number, a date of birth, a name, keypad digits, a payment
card)."""

from .address import GetAddressResult, GetAddressTask
from .credit_card import (
    CardCaptureDeclinedError,
    CardCollectionRestartError,
    GetCreditCardResult,
    GetCreditCardTask,
)
from .dob import GetDOBResult, GetDOBTask
from .dtmf_inputs import GetDtmfResult, GetDtmfTask
from .email_address import GetEmailResult, GetEmailTask
from .name import GetNameResult, GetNameTask
from .phone_number import GetPhoneNumberResult, GetPhoneNumberTask
from .task_group import TaskCompletedEvent, TaskGroup, TaskGroupResult
from .utils import DtmfEvent

__all__ = [
    "CardCaptureDeclinedError",
    "CardCollectionRestartError",
    "DtmfEvent",
    "GetAddressResult",
    "GetAddressTask",
    "GetCreditCardResult",
    "GetCreditCardTask",
    "GetDOBResult",
    "GetDOBTask",
    "GetDtmfResult",
    "GetDtmfTask",
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
