"""Errors of the worker's connection to the LiveKit server.

::

    VagentError
    ├── WorkerConnectionError    the worker cannot (re)connect: refused credentials, or
    │                            ``max_retry`` attempts in a row failed
    ├── HealthServerError        the health HTTP server cannot listen (port in use, no
    │                            permission): the worker does not start
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


class HealthServerError(VagentError):
    """The worker's health HTTP server cannot listen on its host and port."""


class ServerProtocolError(VagentError):
    """The server sent something the agent protocol does not allow."""
