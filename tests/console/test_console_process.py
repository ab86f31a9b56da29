"""``python -m vagent.console`` as a real process: scripted text conversations, fallbacks,
Ctrl-C, and the offline example agent."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from console_helpers import (
    PROCESS_TIMEOUT,
    console_env,
    run_console,
    transcript,
    write_agent,
)

pytestmark = pytest.mark.slow

EXPECTED = [
    "agent: Hello! How can I help?",
    "you: hi there",
    "agent: Nice to meet you.",
    "you: weather in Paris?",
    '[tool] get_weather(location="Paris")',
    "[tool] get_weather -> sunny in Paris",
    "agent: It is sunny in Paris.",
]


def test_scripted_file_gives_the_whole_transcript_and_exits_0(tmp_path: Path) -> None:
    agent = write_agent(tmp_path)
    script = tmp_path / "script.txt"
    script.write_text("hi there\n\nweather in Paris?\n", encoding="utf-8")

    result = run_console(str(agent), "--input", str(script))

    assert result.returncode == 0, result.stderr
    assert transcript(result.stdout) == EXPECTED
    assert "\x1b[" not in result.stdout  # not a terminal: plain text


def test_piped_stdin_without_input_flag_gets_its_replies_before_exit(tmp_path: Path) -> None:
    agent = write_agent(tmp_path)

    result = run_console(str(agent), stdin="hi there\n")

    assert result.returncode == 0, result.stderr
    lines = transcript(result.stdout)
    assert "you: hi there" in lines
    assert lines[-1] == "agent: Nice to meet you."  # end of input waited for the reply


def test_audio_without_devices_falls_back_to_text_reading_stdin(tmp_path: Path) -> None:
    agent = write_agent(tmp_path)

    result = run_console(str(agent), "--audio", "--input", "-", stdin="hi there\n")

    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert "audio mode unavailable" in first
    assert "falling back to text mode" in first
    assert transcript(result.stdout) == EXPECTED[:3]


class _Reader:
    """Reads a process's stdout as it comes (partial lines included), with a deadline."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        self._fd = proc.stdout.fileno()
        self.text = ""
        self._deadline = time.monotonic() + PROCESS_TIMEOUT

    def wait_for(self, needle: str, *, after: int = 0) -> int:
        """Wait until ``needle`` appears at or after offset ``after``; its end offset."""
        while True:
            found = self.text.find(needle, after)
            if found >= 0:
                return found + len(needle)
            remaining = self._deadline - time.monotonic()
            assert remaining > 0, f"no {needle!r} in {self.text!r}"
            ready, _, _ = select.select([self._fd], [], [], remaining)
            if ready:
                chunk = os.read(self._fd, 65536)
                assert chunk, f"console exited early: {self.text!r}"
                self.text += chunk.decode()


def test_typed_line_interrupts_the_agent_and_ctrl_c_exits_0(tmp_path: Path) -> None:
    agent = write_agent(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "vagent.console", str(agent)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=console_env(),
    )
    try:
        assert proc.stdin is not None
        reader = _Reader(proc)
        at = reader.wait_for("agent: Hello! How can I help?")
        proc.stdin.write(b"tell me a long story\n")
        proc.stdin.flush()
        at = reader.wait_for("agent: Once Once", after=at)  # a 30 s reply is streaming...
        proc.stdin.write(b"hi there\n")  # ...and a typed line interrupts it
        proc.stdin.flush()
        reader.wait_for("agent: Nice to meet you.", after=at)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=15)
    finally:
        if proc.returncode is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err.decode()
    lines = transcript(reader.text + out.decode())
    story = next(line for line in lines if line.startswith("agent: Once"))
    assert story.count("Once") < 200  # cut short
    assert lines.index(story) < lines.index("agent: Nice to meet you.")
    assert "closing" in out.decode()


@pytest.mark.timeout(300)  # above the console's own bound below, which reports its output
def test_example_assistant_answers_offline_with_the_local_llm(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "assistant.py"
    script = tmp_path / "script.txt"
    script.write_text(
        "What is the capital of France?\nWhat is the weather in Paris?\n", encoding="utf-8"
    )

    # A bound, not a speed target (that is benchmarks/bench_local_tools.py): loading the
    # models and two turns with a tool take ~20 s alone, minutes on a loaded 2-core machine.
    result = run_console(str(example), "--input", str(script), timeout=240)

    assert result.returncode == 0, result.stderr[-3000:]
    lines = transcript(result.stdout)
    assert "you: What is the capital of France?" in lines
    after = lines[lines.index("you: What is the capital of France?") + 1 :]
    replies = [line for line in after if line.startswith("agent:")]
    assert replies
    assert replies[0].removeprefix("agent:").strip()
    # the offline agent uses its tool for the weather question
    weather = lines.index("you: What is the weather in Paris?")
    assert lines[weather + 1].startswith("[tool] get_weather(location=")
    assert "error" not in result.stdout.lower()


def test_on_a_terminal_it_colors_labels_the_echoed_line_and_ctrl_d_exits_0(tmp_path: Path) -> None:
    agent = write_agent(tmp_path)
    pid, fd = pty.fork()
    if pid == 0:  # the child: the console on a pseudo-terminal
        os.execve(
            sys.executable, [sys.executable, "-m", "vagent.console", str(agent)], console_env()
        )
    received = b""
    deadline = time.monotonic() + PROCESS_TIMEOUT

    def read_until(needle: bytes, after: bytes = b"") -> None:
        nonlocal received
        while needle not in received[received.find(after) if after else 0 :]:
            assert time.monotonic() < deadline, received
            ready, _, _ = select.select([fd], [], [], 0.5)
            if ready:
                try:
                    received += os.read(fd, 4096)
                except OSError:  # the child closed the terminal
                    return

    try:
        read_until(b"Hello! How can I help?")
        # the reply line is closed: the echo gets its own line
        read_until(b"listening]", after=b"Hello! How can I help?")
        os.write(fd, b"hi there\n")
        read_until(b"Nice to meet you.")
        os.write(fd, b"\x04")  # Ctrl-D: end of input
        read_until(b"\x00never")  # everything until the terminal closes
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(fd)
    text = received.decode()
    assert os.waitstatus_to_exitcode(status) == 0
    assert "\x1b[" in text  # a terminal gets colors
    # The terminal echoed the typed line; the console replaced it with the labelled one.
    echoed, relabelled = text.split("hi there")[:2]
    assert "you:" not in echoed
    assert relabelled.startswith("\r\n\x1b[1A\r\x1b[2K")
    assert "you:" in relabelled
    assert text.count("hi there") == 2
