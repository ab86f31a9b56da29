"""Job functions the process-pool tests run in real job processes (imported there by name).

The scenario comes from the job's metadata (JSON), so one entrypoint serves every test;
what happened is reported through logs, which the pool forwards to the test's logging.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from typing import Any

import trio

from vagent.worker.job_context import JobContext, JobProcess, get_job_context

logger = logging.getLogger("vagent.tests.jobs")


HANG_MARKER_ENV = "VAGENT_TEST_HANG_MARKER"


def prewarm(proc: JobProcess) -> None:
    proc.userdata["prewarmed_pid"] = proc.pid
    logger.info("prewarm ran", extra={"prewarm_pid": proc.pid})


def prewarm_hang_once(proc: JobProcess) -> None:
    """Hangs (blocking its loop) the first time, in the process that creates the marker."""
    marker = os.environ[HANG_MARKER_ENV]
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        prewarm(proc)
        return
    os.write(fd, str(os.getpid()).encode())
    os.close(fd)
    time.sleep(60)


def prewarm_blocks_loop(proc: JobProcess) -> None:
    time.sleep(3600)


def prewarm_holds_a_thread(proc: JobProcess) -> None:
    """Leaves a non-daemon thread that never ends (the interpreter would wait for it)."""
    threading.Thread(target=threading.Event().wait, name="forever").start()


SLOW_TO_FREE_SECONDS = 5.0
"""Longer than the worker's EXIT_GRACE, with room to spare on a busy machine."""


class _SlowToFree:
    """Stands for a large model whose teardown takes seconds."""

    def __del__(self) -> None:
        time.sleep(SLOW_TO_FREE_SECONDS)


_models: list[_SlowToFree] = []


def prewarm_loads_a_slow_to_free_model(proc: JobProcess) -> None:
    """Keeps a model in a module global: the interpreter frees it when the process ends."""
    _models.append(_SlowToFree())
    prewarm(proc)


def prewarm_fails(proc: JobProcess) -> None:
    raise RuntimeError("prewarm exploded")


async def entrypoint(ctx: JobContext) -> None:
    params: dict[str, Any] = json.loads(ctx.job.metadata or "{}")
    scenario = params.get("scenario", "return")

    async def on_shutdown(reason: str) -> None:
        logger.info("shutdown callback ran", extra={"reason": reason})

    ctx.add_shutdown_callback(on_shutdown)
    logger.info(
        "entrypoint running",
        extra={
            "scenario": scenario,
            "pid": os.getpid(),
            "prewarmed_pid": ctx.proc.userdata.get("prewarmed_pid"),
            "same_context": get_job_context() is ctx,
        },
    )
    if scenario == "return":
        return
    if scenario == "crash":
        raise ValueError("boom")
    if scenario == "exit":
        os._exit(3)
    if scenario == "wait":
        await trio.sleep_forever()
    if scenario == "memory":
        hog = []
        step_mb = params.get("step_mb", 10)
        for _ in range(params["mb"] // step_mb):  # in steps: the job stays responsive to pings
            hog.append(b"\x01" * (step_mb * 1024 * 1024))
            await trio.sleep(params.get("pause", 0.01))
        logger.info("memory allocated", extra={"mb": params["mb"]})
        await trio.sleep_forever()
    if scenario == "block":
        time.sleep(params.get("seconds", 30))  # noqa: ASYNC251 (blocks the job's loop on purpose)
    if scenario == "ignore_shutdown":
        with trio.CancelScope(shield=True):
            await trio.sleep(params.get("seconds", 1.5))
    if scenario == "attach":
        ctx.task_group.start_soon(_attached_task)


async def _attached_task() -> None:
    await trio.sleep(0.2)
    logger.info("attached task finished", extra={"job_id": get_job_context().job.id})
