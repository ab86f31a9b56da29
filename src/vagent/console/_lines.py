"""User turns as lines of text: from standard input or a file.

Standard input is read one line at a time in a worker thread (``abandon_on_cancel``: a read
blocked on the terminal cannot be interrupted, so on cancellation the thread is left to
finish by itself and its line is discarded; the thread is a daemon and never holds up the
exit). A file is read the same way, so huge files are not loaded at once.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncGenerator
from typing import TextIO

import trio

from vagent._core import ValidationError


def _open(path: str) -> TextIO:
    try:
        return open(path, encoding="utf-8")
    except OSError as exc:
        raise ValidationError(f"cannot read the console input file {path!r}: {exc}") from exc


async def read_lines(path: str | None) -> AsyncGenerator[str, None]:  # noqa: ASYNC900 (consumed by one task under aclosing; never yields inside a scope)
    """Yield lines (without their newline) from ``path``, or standard input for ``None``/"-".

    Ends at end of file. Raises :class:`ValidationError` when the file cannot be opened.
    """
    stream = sys.stdin if path in (None, "-") else _open(path)
    limiter = trio.CapacityLimiter(1)
    try:
        while True:
            line = await trio.to_thread.run_sync(
                stream.readline, abandon_on_cancel=True, limiter=limiter
            )
            if not line:
                return
            yield line.rstrip("\r\n")
    finally:
        if stream is not sys.stdin:
            stream.close()
