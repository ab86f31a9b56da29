"""Job-process logs, forwarded to the worker and re-emitted there with the job id.

In the job process, :class:`LogForwardingHandler` (on the root logger) turns each record
into a :class:`LogRecordMessage` and queues it without blocking; a writer task sends the
queue over IPC. Records logged from other threads (the rtc bridge's asyncio loop) are
queued through the trio token. The queue holds ``LOG_QUEUE_SIZE`` records; beyond that,
records are dropped and counted (a job must never block on logging), and the count is
reported once the queue drains.

In the worker, :func:`reemit_log_record` hands the record to the logger of the same name,
with ``job_id`` (and the job's own extra fields) as record attributes.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import trio

from .messages import LogRecordMessage, Message

LOG_QUEUE_SIZE = 512
MAX_LOG_MESSAGE_CHARS = 64 * 1024

_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()
    | {"message", "asctime", "taskName"}
)


def _json_safe(value: Any) -> Any:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        pass
    except RecursionError:  # repr() would recurse just as deep
        return f"<{type(value).__name__} nested too deeply to log>"
    else:
        return value
    try:
        return repr(value)
    except RecursionError:
        return f"<{type(value).__name__} nested too deeply to log>"


def record_to_message(record: logging.LogRecord) -> LogRecordMessage:
    """A JSON-safe copy of ``record`` with its message formatted."""
    try:
        msg = record.getMessage()
    except Exception as exc:  # a bad format string must not kill the job
        msg = f"{record.msg!r} (unformattable: {exc})"
    exc_text = record.exc_text or ""
    if record.exc_info and not exc_text:
        exc_text = logging.Formatter().formatException(record.exc_info)
    extra = {
        key: _json_safe(value)
        for key, value in vars(record).items()
        if key not in _STANDARD_ATTRS and not key.startswith("_")
    }
    return LogRecordMessage(
        name=record.name,
        levelno=record.levelno,
        msg=msg[:MAX_LOG_MESSAGE_CHARS],
        created=record.created,
        pathname=record.pathname,
        lineno=record.lineno,
        func_name=record.funcName or "",
        thread_name=record.threadName or "",
        exc_text=exc_text[:MAX_LOG_MESSAGE_CHARS],
        extra=extra,
    )


class LogForwardingHandler(logging.Handler):
    """Queues records for the IPC writer task; never blocks, drops when the queue is full."""

    def __init__(self, queue: trio.MemorySendChannel[Message]) -> None:
        super().__init__()
        self._queue = queue
        self._token = trio.lowlevel.current_trio_token()
        self._trio_thread = threading.get_ident()
        self.dropped = 0

    def emit(self, record: logging.LogRecord) -> None:
        try:
            msg = record_to_message(record)
        except Exception:
            self.handleError(record)
            return
        if threading.get_ident() == self._trio_thread:
            self._enqueue(msg)
        else:
            try:
                self._token.run_sync_soon(self._enqueue, msg)
            except trio.RunFinishedError:
                pass

    def _enqueue(self, msg: LogRecordMessage) -> None:
        try:
            self._queue.send_nowait(msg)
        except trio.WouldBlock:
            self.dropped += 1
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            pass


def reemit_log_record(msg: LogRecordMessage, *, job_id: str | None, pid: int | None) -> None:
    """Hand a forwarded record to the worker's logger of the same name."""
    logger = logging.getLogger(msg.name)
    if not logger.isEnabledFor(msg.levelno):
        return
    attrs: dict[str, Any] = {
        "name": msg.name,
        "levelno": msg.levelno,
        "levelname": logging.getLevelName(msg.levelno),
        "msg": msg.msg,
        "args": None,
        "created": msg.created,
        "msecs": (msg.created % 1) * 1000,
        "pathname": msg.pathname,
        "lineno": msg.lineno,
        "funcName": msg.func_name,
        "threadName": msg.thread_name,
        "exc_text": msg.exc_text or None,
        "process": pid,
    }
    for key, value in msg.extra.items():
        attrs.setdefault(key, value)
    if job_id is not None:
        attrs.setdefault("job_id", job_id)
    logger.handle(logging.makeLogRecord(attrs))
