"""Log output of the ``vagent`` command: colored lines in development, JSON lines in production.

Both include a record's extras (the ``extra={...}`` fields of the logging call), so
structured fields such as ``job_id`` reach the terminal and the log pipeline.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from typing import Any, TextIO

# Attributes every LogRecord has; anything else on a record came from ``extra``.
_STANDARD_ATTRS = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()
    | {"message", "asctime", "taskName"}
)

_COLORS = {
    logging.DEBUG: "\x1b[2m",
    logging.INFO: "\x1b[32m",
    logging.WARNING: "\x1b[33m",
    logging.ERROR: "\x1b[31m",
    logging.CRITICAL: "\x1b[1;31m",
}
_RESET = "\x1b[0m"
_DIM = "\x1b[2m"


def record_extras(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a logging call passed with ``extra=``."""
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD_ATTRS}


def _jsonable(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return repr(value)


def _exception_text(formatter: logging.Formatter, record: logging.LogRecord) -> str:
    """The record's traceback: formatted from ``exc_info``, or the ``exc_text`` a job process
    forwarded (records logged in a job process reach the worker already formatted)."""
    if record.exc_info:
        return formatter.formatException(record.exc_info)
    return record.exc_text or ""


class JSONFormatter(logging.Formatter):
    """One JSON object per line: timestamp, level, name, message, extras, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "name": record.name,
            "message": record.getMessage(),
        }
        for key, value in record_extras(record).items():
            entry.setdefault(key, _jsonable(value))
        exception = _exception_text(self, record)
        if exception:
            entry["exc_info"] = exception
        if record.stack_info:
            entry["stack_info"] = record.stack_info
        return json.dumps(entry)


class HumanFormatter(logging.Formatter):
    """``12:00:01.123 INFO  vagent.worker  message {extras}``, colored when asked."""

    def __init__(self, *, color: bool) -> None:
        super().__init__()
        self._color = color

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
        stamp += f".{int(record.msecs):03d}"
        level = f"{record.levelname:<7}"
        extras = record_extras(record)
        tail = f" {json.dumps(_jsonable(extras))}" if extras else ""
        if self._color:
            color = _COLORS.get(record.levelno, "")
            line = (
                f"{_DIM}{stamp}{_RESET} {color}{level}{_RESET} {_DIM}{record.name}{_RESET} "
                f"{record.getMessage()}{_DIM}{tail}{_RESET}"
            )
        else:
            line = f"{stamp} {level} {record.name} {record.getMessage()}{tail}"
        exception = _exception_text(self, record)
        if exception:
            line += "\n" + exception
        if record.stack_info:
            line += "\n" + record.stack_info
        return line


def use_color(stream: TextIO) -> bool:
    """Colors on a terminal, unless ``NO_COLOR`` is set."""
    return stream.isatty() and not os.environ.get("NO_COLOR")


def setup_logging(level: str, *, devmode: bool, stream: TextIO | None = None) -> None:
    """Route every log record to ``stream`` (stderr): human lines in dev, JSON otherwise.

    Replaces the root logger's handlers; ``level`` applies to vagent's loggers and the root.
    """
    stream = stream if stream is not None else sys.stderr
    handler = logging.StreamHandler(stream)
    formatter: logging.Formatter = (
        HumanFormatter(color=use_color(stream)) if devmode else JSONFormatter()
    )
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level: {level!r}")
    root.setLevel(numeric)
    logging.getLogger("vagent").setLevel(numeric)
