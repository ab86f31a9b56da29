"""Errors of the worker: its connection to the LiveKit server, launching jobs.

::

    VagentError
    ├── WorkerConnectionError    the worker cannot (re)connect: refused credentials, or
    │                            ``max_retry`` attempts in a row failed
    ├── HealthServerError        the health HTTP server cannot listen (port in use, no
    │                            permission): the worker does not start
    ├── ServerProtocolError      a message from the server is malformed or out of order
    │                            (logged and skipped, except a missing register reply,
    │                            which fails that connection attempt)
    └── JobLaunchError           an accepted job could not be started (no job process
                                 became ready, or it failed first); raised by
                                 ``JobRequest.accept()``, the job is reported FAILED

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


class JobLaunchError(VagentError):
    """A job could not be started (no job process became ready, or it failed first)."""
