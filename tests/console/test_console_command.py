"""The ``console`` subcommand: registration, arguments, clear errors."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from vagent._cli.commands import SUBCOMMANDS, build_parser
from vagent.cli import main
from vagent.console import CONSOLE_COMMAND
from vagent.worker import WorkerOptions


async def _entrypoint(ctx: object) -> None:
    raise AssertionError("never started")


def test_console_is_a_vagent_subcommand_with_its_options() -> None:
    assert SUBCOMMANDS["console"] is CONSOLE_COMMAND
    args = build_parser("vagent", with_agent_file=True).parse_args(
        ["console", "agent.py", "--audio", "--input", "-"]
    )
    assert (args.agent_file, args.audio, args.input) == ("agent.py", True, "-")
    assert args.log_level == "WARNING"  # logs share the terminal: quiet by default


def test_missing_input_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = argparse.Namespace(audio=False, input=str(tmp_path / "nope.txt"))

    code = CONSOLE_COMMAND.run(args, WorkerOptions(entrypoint_fnc=_entrypoint))

    assert code == 2
    assert "nope.txt" in capsys.readouterr().err


def test_missing_agent_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["console", str(tmp_path / "missing.py")])

    assert exited.value.code == 2
    assert "agent file not found" in capsys.readouterr().err
