"""Errors of the worker's connection to the LiveKit server.

::

    VagentError
    ├── WorkerConnectionError    the worker cannot (re)connect: refused credentials, or
    │                            ``max_retry`` attempts in a row failed
    └── ServerProtocolError      a message from the server is malformed or out of order
                                 (logged and skipped, except a missing register reply,
                                 which fails that connection attempt)

:class:`vagent.AssignmentTimeoutError` (in ``vagent._core``) is raised by
``JobRequest.accept()`` when the server does not assign an accepted job in time.
"""

from __future__ import annotations

from vagent._core import VagentError


class WorkerConnectionError(VagentError):
    """The worker could not connect or register to the LiveKit server."""


class ServerProtocolError(VagentError):
    """The server sent something the agent protocol does not allow."""
