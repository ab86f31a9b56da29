"""``vagent run``, ``--help``, ``--version`` and finding a livekit-style entrypoint."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from vagent import __version__
from vagent._cli.commands import SUBCOMMANDS, build_parser, resolve
from vagent._cli.loader import load_agent_options
from vagent._core import ValidationError

HEAVY_MODULES = ("trio", "anyio", "livekit", "numpy", "httpx", "vagent.worker", "vagent.session")


def _modules_loaded_by(argv: list[str]) -> tuple[str, list[str]]:
    """Run ``vagent <argv>`` in a fresh interpreter: its stdout and the heavy modules loaded."""
    probe = textwrap.dedent(
        f"""
        import contextlib, io, json, sys
        from vagent.cli import main
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            try:
                main({argv!r})
            except SystemExit:
                pass
        heavy = sorted({{m for m in sys.modules if m.startswith({HEAVY_MODULES!r})}})
        print(json.dumps({{"out": out.getvalue(), "heavy": heavy}}))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    result = json.loads(done.stdout)
    return result["out"], result["heavy"]


@pytest.mark.slow
def test_help_lists_every_command_without_importing_the_runtime() -> None:
    out, heavy = _modules_loaded_by(["--help"])
    for name in ("run", "console", "start", "dev", "connect", "download-files"):
        assert f"    {name} " in out or f"    {name}\n" in out, name
    assert set(SUBCOMMANDS) <= {line.split()[0] for line in out.splitlines() if line[:4] == "    "}
    assert heavy == []  # lazy: `vagent --help` stays fast


@pytest.mark.slow
def test_version_is_printed_without_importing_the_runtime() -> None:
    out, heavy = _modules_loaded_by(["--version"])
    assert out.strip() == f"vagent {__version__}"
    assert heavy == []


def test_run_without_a_server_is_the_console(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LIVEKIT_URL", raising=False)
    parser = build_parser("vagent", with_agent_file=True)
    args = parser.parse_args(["run", "agent.py", "--input", "turns.txt"])
    assert resolve(args).name == "console"
    assert (args.input, args.reload, args.log_level) == ("turns.txt", False, "WARNING")
    args = parser.parse_args(["run", "agent.py", "--dev"])
    assert resolve(args).name == "console"
    assert args.reload  # --dev: restart the console on changes


@pytest.mark.parametrize(
    ("flags", "mode", "reload"), [([], "start", False), (["--dev"], "dev", True)]
)
def test_run_with_a_server_is_a_worker(
    monkeypatch: pytest.MonkeyPatch, flags: list[str], mode: str, reload: bool
) -> None:
    monkeypatch.delenv("LIVEKIT_URL", raising=False)
    parser = build_parser("vagent", with_agent_file=True)
    args = parser.parse_args(["run", "agent.py", "--url", "ws://127.0.0.1:7880", *flags])
    assert resolve(args).name == mode
    assert args.log_level == "INFO"
    assert args.no_reload is not reload
    assert args.drain_timeout == 1800
    monkeypatch.setenv("LIVEKIT_URL", "wss://example.invalid")
    args = parser.parse_args(["run", "agent.py", *flags])
    assert resolve(args).name == mode


LIVEKIT_STYLE = """
from vagent import JobContext, JobProcess

async def my_agent(ctx: JobContext) -> None:
    await ctx.connect()

def load(proc: JobProcess) -> None:
    proc.userdata["loaded"] = True

if __name__ == "__main__":
    from vagent import WorkerOptions, cli

    cli.run_app(WorkerOptions(entrypoint_fnc=my_agent, prewarm_fnc=load, agent_name="helper"))
"""

LIVEKIT_STYLE_NAMED = """
from vagent import WorkerOptions, cli

async def session_entry(ctx) -> None:
    return None

if __name__ == "__main__":
    options = WorkerOptions(entrypoint_fnc=session_entry)
    cli.run_app(options)
"""


def test_an_entrypoint_with_another_name_is_found_through_run_app(tmp_path: Path) -> None:
    path = tmp_path / "livekit_style.py"
    path.write_text(LIVEKIT_STYLE)
    opts = load_agent_options(path)
    assert opts.entrypoint_fnc.__name__ == "my_agent"
    assert opts.prewarm_fnc.__name__ == "load"
    assert opts.agent_name == "helper"

    named = tmp_path / "named_options.py"
    named.write_text(LIVEKIT_STYLE_NAMED)
    assert load_agent_options(named).entrypoint_fnc.__name__ == "session_entry"


def test_run_app_with_unknown_names_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "broken_agent.py"
    path.write_text(
        "from vagent import WorkerOptions, cli\n"
        "if __name__ == '__main__':\n"
        "    cli.run_app(WorkerOptions(entrypoint_fnc=missing_function))\n"
    )
    with pytest.raises(ValidationError, match=r"broken_agent.py:3: .*missing_function"):
        load_agent_options(path)
