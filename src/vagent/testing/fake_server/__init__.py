"""A fake LiveKit server for tests and local development (see :mod:`.server`).

From the command line: ``python -m vagent.testing.fake_server --port 7880``.
"""

from .records import JobRecord, WorkerRecord, dispatch_order
from .server import DEFAULT_API_KEY, DEFAULT_API_SECRET, FakeLiveKitServer

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_API_SECRET",
    "FakeLiveKitServer",
    "JobRecord",
    "WorkerRecord",
    "dispatch_order",
]
