"""``vagent dev``: restart the worker when the agent's source files change."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from contextlib import aclosing
from pathlib import Path

import anyio
import watchfiles

logger = logging.getLogger("vagent.cli")

DEBOUNCE_MS = 400
"""Changes within this window count as one (editors write files in several steps)."""


def python_files_only(change: watchfiles.Change, path: str) -> bool:
    return path.endswith(".py")


async def wait_for_changes(paths: Sequence[Path], *, stop: anyio.Event | None = None) -> set[str]:
    """Block until a ``.py`` file under ``paths`` changes; return the changed paths.

    Cancelling it stops the watcher (its thread ends within watchfiles' step of 50 ms).
    """
    watcher = watchfiles.awatch(
        *paths,
        watch_filter=python_files_only,
        debounce=DEBOUNCE_MS,
        stop_event=stop,
        recursive=True,
    )
    async with aclosing(watcher):
        async for changes in watcher:
            return {path for _, path in changes}
    return set()


def restart_process() -> None:
    """Replace this process with a fresh run of the same command line (never returns)."""
    argv = [sys.executable, *sys.orig_argv[1:]]
    logger.info("restarting", extra={"argv": argv})
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, argv)
