"""Running an agent's entrypoint as a local console job: no server, no room, one nursery.

:func:`run_console` is what ``vagent console <file>`` calls. Inside one trio nursery:

- ``prewarm_fnc(proc)`` runs first (as in a job process), then the entrypoint runs as a fake
  job (:class:`~vagent.worker.job_runner.JobRunner`, ``ctx.is_fake_job()`` is True) whose
  ``ctx.room`` is the console room (:mod:`._room`);
- the input driver waits for the entrypoint's ``AgentSession`` to attach, then sends user
  turns: typed lines at once (``session.push_text_input``, which interrupts a speaking
  agent), or scripted (``--input``) and piped lines one by one, each once the agent listens
  again: every speech the previous one caused is done, handoffs to another agent included
  (``session.run``); after the last scripted reply the console closes;
- a signal watcher turns the first Ctrl-C (SIGINT/SIGTERM) into a graceful close and the
  second into cancelling everything;
- in audio mode, the microphone and speaker tasks.

Closing: the session is closed with :data:`SESSION_CLOSE_TIMEOUT`, then the job is shut
down (its callbacks and grace period are bounded by the job runner). The exit code is 0
unless the entrypoint (or a task it attached) failed, the session closed because of an
error, a provider refused the credentials, or a turn could not be delivered or answered
(1, with one ``[error]`` line saying why), or a second interrupt cut the close short (130;
also for Ctrl-C during ``prewarm``, which blocks the loop). Log records are printed between
transcript lines (:mod:`._logs`).
"""

from __future__ import annotations

import inspect
import logging
import os
import signal
import sys
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import AsyncExitStack, aclosing
from pathlib import Path
from typing import Any, TextIO

import trio
from attrs import define, frozen
from livekit.protocol import agent, models

from vagent._cli.reload import restart_process, wait_for_changes
from vagent._core import APIError, ValidationError, collapse_excgroups, owner_task_group
from vagent._core.asyncio_hint import asyncio_misuse_hint
from vagent.session import AgentSession
from vagent.session.transcript_sync import TranscriptSynchronizer
from vagent.worker.job_context import JobContext, JobProcess, _JobContextVar
from vagent.worker.job_runner import JobRunner
from vagent.worker.options import JobExecutorType, WorkerOptions
from vagent.worker.running_job import JobAcceptArguments, RunningJobInfo
from vagent.worker.session_end import session_end_for

from ._audio import AudioDevices, AudioDevicesFactory, open_sound_devices
from ._io import ConsoleIO, ConsoleTextOutput
from ._lines import read_lines
from ._logs import logs_between_lines
from ._printer import TranscriptPrinter
from ._room import CONSOLE_AGENT_IDENTITY, CONSOLE_ROOM_NAME, ConsoleRoomConnector

logger = logging.getLogger("vagent.console")

SESSION_CLOSE_TIMEOUT = 5.0
"""Seconds the session gets to close (``on_exit``, interruption, tasks) when the console ends."""
SHUTDOWN_CALLBACK_TIMEOUT = 10.0
"""Seconds each job shutdown callback gets."""
SHUTDOWN_GRACE_PERIOD = 1.0
"""Seconds the job's tasks get to end by themselves before they are cancelled. Short: the
console closed the session already; what is left are helpers the entrypoint attached to the
job (a local model server, say), which only stop when cancelled."""
ENTRYPOINT_SETTLE_TIMEOUT = 3.0
"""Scripted input waits for the entrypoint to return (it may start a greeting) at most this."""


@frozen(kw_only=True)
class ConsoleConfig:
    """How :func:`run_console` runs.

    ``input_path``: read scripted user turns from this file (``"-"``: standard input) and
    exit after the last reply; ``None``: interactive (standard input, lines as typed).
    ``audio``: use the microphone and speaker when they exist (else text, with a notice).
    """

    audio: bool = False
    input_path: str | None = None
    handle_signals: bool = True
    watch: tuple[Path, ...] = ()
    """Directories whose ``.py`` files restart the console when they change (``--reload``)."""


RESTART_EXIT_CODE = 75
"""What :func:`console_main` returns when a watched file changed: :func:`run_console` then
replaces the process with a fresh run of the same command line."""


def run_console(opts: WorkerOptions, config: ConsoleConfig, *, stdout: TextIO | None = None) -> int:
    """Run the console in a fresh trio loop; returns the process exit code (or restarts
    the process when a watched file changed)."""
    try:
        code = trio.run(console_main, opts, config, stdout or sys.stdout)
    except KeyboardInterrupt:  # before the signal watcher runs (during prewarm)
        return 130
    if code == RESTART_EXIT_CODE:
        restart_process()
    return code


LineSource = Callable[[str | None], AsyncGenerator[str, None]]
"""Makes the user's lines from ``ConsoleConfig.input_path`` (default: :func:`read_lines`)."""


async def console_main(
    opts: WorkerOptions,
    config: ConsoleConfig,
    stdout: TextIO,
    *,
    line_source: LineSource = read_lines,
    audio_devices: AudioDevicesFactory = open_sound_devices,
) -> int:
    """The console run (see the module docstring); returns the exit code.

    ``line_source`` replaces the reading of standard input or the input file, and
    ``audio_devices`` the opening of the sound devices (tests).
    """
    _check_input_path(config.input_path)
    printer = TranscriptPrinter(stdout)
    devices: AudioDevices | None = None
    if config.audio:
        opened = audio_devices(printer)
        if isinstance(opened, str):
            printer.notice(f"audio mode unavailable: {opened}; falling back to text mode")
        else:
            devices = opened

    exit_code = 1
    async with AsyncExitStack() as stack:
        stack.enter_context(logs_between_lines(printer))
        if devices is None:
            console = ConsoleIO(printer)
        else:
            # The agent's text is printed in step with what the speaker plays.
            sync = await stack.enter_async_context(
                TranscriptSynchronizer(
                    next_in_chain_audio=devices.speaker,
                    next_in_chain_text=ConsoleTextOutput(printer),
                )
            )
            console = ConsoleIO(
                printer,
                audio_input=devices.microphone,
                audio_output=sync.audio_output,
                text_output=sync.text_output,
                background_stream=devices.background,
            )
        exit_code = await _run_job(opts, config, console, devices, line_source)
    return exit_code


async def _run_job(
    opts: WorkerOptions,
    config: ConsoleConfig,
    console: ConsoleIO,
    devices: AudioDevices | None,
    line_source: LineSource,
) -> int:
    printer = console.printer
    proc = JobProcess(executor_type=JobExecutorType.THREAD)
    prewarmed = opts.prewarm_fnc(proc)
    if inspect.isawaitable(prewarmed):
        await prewarmed

    entrypoint_done = trio.Event()
    runner = JobRunner(
        proc=proc,
        info=_console_job_info(),
        entrypoint=_owned_entrypoint(opts.entrypoint_fnc, entrypoint_done),
        session_end=session_end_for(opts.entrypoint_fnc),
        shutdown_callback_timeout=SHUTDOWN_CALLBACK_TIMEOUT,
        shutdown_grace_period=SHUTDOWN_GRACE_PERIOD,
        room_connector=ConsoleRoomConnector(console),
    )
    mode = "audio" if console.audio_mode else "text"
    if config.input_path is None:
        printer.notice(f"{mode} mode: type a message and press Enter; Ctrl-D or Ctrl-C to quit")

    exited = None
    changed: set[str] = set()
    turns = TurnCount()

    async def restart_on_changes() -> None:
        changed.update(await wait_for_changes(config.watch))
        printer.notice("source changed: restarting")
        await _close(console, runner, "source changed")

    with collapse_excgroups():
        async with trio.open_nursery() as nursery:
            if config.handle_signals:
                nursery.start_soon(_watch_signals, console, runner, nursery.cancel_scope)
            if config.watch:
                nursery.start_soon(restart_on_changes)
            for run_device in devices.runners if devices is not None else ():
                await nursery.start(run_device)
            nursery.start_soon(
                _drive_input, console, runner, config, entrypoint_done, line_source, turns
            )
            exited = await runner.run(_nothing)
            nursery.cancel_scope.cancel()
    printer.agent_end()
    if exited is None:  # a second interrupt cut the close short
        return 130
    if changed:
        return RESTART_EXIT_CODE
    if console.session is None and not exited.failed:
        printer.notice("the entrypoint ended without starting an AgentSession on ctx.room")
    if exited.failed:
        printer.error(f"the agent failed: {exited.error}")
        return 1
    if hint := _asyncio_hint(console):
        printer.error(hint)
    if console.fatal_error is not None:
        return 1
    if turns.failed:
        printer.error(f"{turns.failed} of {turns.sent} turns got no reply")
        return 1
    return 0


def _asyncio_hint(console: ConsoleIO) -> str | None:
    error = console.fatal_error
    return asyncio_misuse_hint(error) if error is not None else None


def _check_input_path(path: str | None) -> None:
    if path is None or path == "-":
        return
    if not os.path.isfile(path) or not os.access(path, os.R_OK):
        raise ValidationError(f"console input file not found or not readable: {path}")


async def _nothing() -> None:
    await trio.lowlevel.checkpoint()


def _console_job_info() -> RunningJobInfo:
    job = agent.Job(
        id="console-job",
        room=models.Room(sid="RM_console", name=CONSOLE_ROOM_NAME),
        type=agent.JobType.JT_ROOM,
    )
    return RunningJobInfo(
        accept_arguments=JobAcceptArguments(identity=CONSOLE_AGENT_IDENTITY),
        job=job,
        url="",
        token="",
        worker_id="console",
        fake_job=True,
    )


def _owned_entrypoint(
    entrypoint: Callable[[JobContext], Awaitable[None]], done: trio.Event
) -> Callable[[JobContext], Awaitable[None]]:
    """The entrypoint, run so that sessions it starts belong to the job's task group."""

    async def run(ctx: JobContext) -> None:
        try:
            with owner_task_group(ctx.task_group):
                await entrypoint(ctx)
        finally:
            done.set()

    return run


async def _close(console: ConsoleIO, runner: JobRunner, reason: str) -> None:
    """Close the session (bounded), then ask the job to shut down."""
    session = console.session
    if session is not None:
        with trio.move_on_after(SESSION_CLOSE_TIMEOUT):
            await session.aclose(deadline=SESSION_CLOSE_TIMEOUT)
    runner.request_shutdown(reason)
    await trio.lowlevel.checkpoint()


async def _drive_input(
    console: ConsoleIO,
    runner: JobRunner,
    config: ConsoleConfig,
    entrypoint_done: trio.Event,
    line_source: LineSource,
    turns: TurnCount,
) -> None:
    # The user's turns run tools: they belong to the job, so get_job_context() works in them
    # (tasks inherit the context of the task that starts them: this one).
    _JobContextVar.set(runner.ctx)
    session = await console.wait_started()
    scripted = config.input_path is not None
    async with trio.open_nursery() as nursery:
        with trio.CancelScope() as input_scope:

            async def stop_input_when_session_closes() -> None:
                await console.wait_session_closed()
                input_scope.cancel()

            async def stop_input_on_a_fatal_error() -> None:
                await console.wait_fatal()
                input_scope.cancel()

            nursery.start_soon(stop_input_when_session_closes)
            nursery.start_soon(stop_input_on_a_fatal_error)
            if scripted or not _stdin_is_tty():
                # Input that is already there (a script, a pipe) waits for the entrypoint:
                # the session runs and its greeting comes first.
                with trio.move_on_after(ENTRYPOINT_SETTLE_TIMEOUT):
                    await entrypoint_done.wait()
            await _send_lines(console, session, config, line_source, turns)
        reason = "session closed" if console.closed else "console input ended"
        await _close(console, runner, reason)  # also when the session closed by itself
        nursery.cancel_scope.cancel()


@define
class TurnCount:
    """User turns sent, and those that could not be delivered or answered."""

    sent: int = 0
    failed: int = 0


async def _send_lines(
    console: ConsoleIO,
    session: AgentSession[Any],
    config: ConsoleConfig,
    line_source: LineSource,
    turns: TurnCount,
) -> None:
    """Send each line as a user turn.

    Scripted lines (``--input``) each wait until the agent listens again: every speech the
    previous turn caused is done, handoffs included (``session.run``). Typed and piped lines
    go at once (``push_text_input``, which interrupts a speaking agent).
    """
    scripted = config.input_path is not None
    on_terminal = not scripted and _stdin_is_tty()
    async with aclosing(line_source(config.input_path)) as lines:
        async for line in lines:
            text = line.strip()
            if not text:
                continue
            if console.closed:
                return
            turns.sent += 1
            if not scripted:
                if on_terminal:
                    console.printer.user_typed(text)
                else:
                    console.printer.user(text)
                try:
                    session.push_text_input(text)
                except RuntimeError as exc:  # closing, or between two agents
                    turns.failed += 1
                    console.printer.error(f"turn not delivered: {exc}")
                continue
            await console.wait_idle()  # the greeting, or a reply started by the agent itself
            if console.closed:
                return
            console.printer.user(text)
            try:
                await session.run(user_input=text)
            except RuntimeError as exc:
                turns.failed += 1
                console.printer.error(f"turn not delivered: {exc}")
            except APIError:
                turns.failed += 1  # the session reported it
    if not on_terminal:
        # Scripted or piped: the end of the input means "no more turns", not "quit now".
        await console.wait_idle()


def _stdin_is_tty() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


async def _watch_signals(
    console: ConsoleIO, runner: JobRunner, everything: trio.CancelScope
) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        closing = False
        async with trio.open_nursery() as nursery:
            async for _signum in signals:
                if closing:
                    console.printer.notice("second interrupt: exiting now")
                    everything.cancel()
                    break
                closing = True
                console.printer.agent_end()
                console.printer.notice("closing (press Ctrl-C again to exit at once)")
                nursery.start_soon(_close, console, runner, "interrupted")


__all__ = ["ConsoleConfig", "console_main", "run_console"]
