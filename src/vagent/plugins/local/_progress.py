"""A plain stderr progress display for model loading (no dependency, no terminal tricks
beyond ``\\r`` when stderr is a terminal)."""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import Self, TextIO

_WIDTH = 24


class Progress:
    """Steps of a long preparation, shown as ``[####....] 2/4 loading piper voice``.

    On a terminal the line is redrawn in place; otherwise one line is written per step.
    Each finished step records how long it took in :attr:`timings` (wall-clock seconds,
    measured with ``time.perf_counter``: this runs in synchronous ``prewarm`` code, outside
    any event loop).
    """

    def __init__(self, title: str, total: int, *, stream: TextIO | None = None) -> None:
        self._title = title
        self._total = max(1, total)
        self._stream = stream if stream is not None else sys.stderr
        self._tty = bool(getattr(self._stream, "isatty", lambda: False)())
        self._done = 0
        self._label = ""
        self._started = 0.0
        self.timings: dict[str, float] = {}

    def step(self, label: str) -> None:
        """Finish the current step (if any) and start ``label``."""
        self._finish_step()
        self._label = label
        self._started = time.perf_counter()
        self._draw()

    def _finish_step(self) -> None:
        if self._label:
            self.timings[self._label] = time.perf_counter() - self._started
            self._done += 1
            self._label = ""

    def _draw(self, final: bool = False) -> None:
        filled = _WIDTH * self._done // self._total
        bar = "#" * filled + "." * (_WIDTH - filled)
        label = "done" if final else self._label
        line = f"{self._title} [{bar}] {self._done}/{self._total} {label}"
        if self._tty:
            self._stream.write("\r\x1b[K" + line + ("\n" if final else ""))
        else:
            self._stream.write(line + "\n")
        self._stream.flush()

    def close(self) -> None:
        self._finish_step()
        self._draw(final=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
