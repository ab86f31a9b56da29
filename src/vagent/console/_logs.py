"""Log records in the console: printed between transcript lines, never inside a reply.

While the console runs, each stream handler of the root logger is swapped for a
:class:`TranscriptLogHandler` with the same formatter, level and stream: a record arriving
while the agent's reply line is streaming waits for the end of that line. Records from
other threads (a library's worker thread) are written at once, as before: the printer
belongs to the event loop's thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from ._printer import TranscriptPrinter


class TranscriptLogHandler(logging.Handler):
    """Formats like the handler it replaces, writes through the printer."""

    def __init__(self, replaced: logging.StreamHandler[TextIO], printer: TranscriptPrinter) -> None:
        super().__init__(replaced.level)
        self.setFormatter(replaced.formatter)
        for log_filter in replaced.filters:
            self.addFilter(log_filter)
        self._stream = replaced.stream
        self._printer = printer
        self._thread = threading.get_ident()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record) + "\n"
            if threading.get_ident() == self._thread:
                self._printer.between_lines(self._stream, text)
            else:
                self._stream.write(text)
                self._stream.flush()
        except Exception:
            self.handleError(record)


@contextmanager
def logs_between_lines(printer: TranscriptPrinter) -> Iterator[None]:
    """Route the root logger's stream handlers through ``printer`` while in the block."""
    root = logging.getLogger()
    swapped = [
        (handler, TranscriptLogHandler(handler, printer))
        for handler in root.handlers
        if type(handler) is logging.StreamHandler
    ]
    for old, new in swapped:
        root.removeHandler(old)
        root.addHandler(new)
    try:
        yield
    finally:
        for old, new in swapped:
            root.removeHandler(new)
            root.addHandler(old)
