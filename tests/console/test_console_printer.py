"""The transcript printer: readable lines, replies never split, color only on terminals."""

from __future__ import annotations

import io

import pytest

from vagent.console import TranscriptPrinter
from vagent.console._printer import format_arguments, wants_color


def test_reply_streams_on_one_line_and_other_lines_wait_for_its_end() -> None:
    out = io.StringIO()
    printer = TranscriptPrinter(out, color=False)

    printer.user("hi")
    printer.agent_delta("Hello")
    printer.agent_delta(" there")
    assert out.getvalue() == "you: hi\nagent: Hello there"  # streamed, line still open
    printer.state("listening")
    printer.tool_call("get_time", '{"timezone": "Europe/Paris"}')
    printer.agent_delta("!")
    printer.agent_end()
    printer.agent_end()  # idempotent

    assert out.getvalue().splitlines() == [
        "you: hi",
        "agent: Hello there!",
        "[agent listening]",
        '[tool] get_time(timezone="Europe/Paris")',
    ]


def test_tool_output_and_errors_are_marked() -> None:
    out = io.StringIO()
    printer = TranscriptPrinter(out, color=False)

    printer.tool_output("get_weather", "sunny\n 21 C", is_error=False)
    printer.tool_output("get_time", "unknown timezone", is_error=True)
    printer.error("boom")

    assert out.getvalue().splitlines() == [
        "[tool] get_weather -> sunny 21 C",
        "[tool] get_time !> unknown timezone",
        "[error] boom",
    ]


def test_colors_only_when_asked_and_meter_only_on_terminals() -> None:
    plain, colored = io.StringIO(), io.StringIO()
    TranscriptPrinter(plain, color=False).user("hi")
    TranscriptPrinter(colored, color=True).user("hi")
    TranscriptPrinter(plain, color=False).meter("mic [###] -20 dB")

    assert plain.getvalue() == "you: hi\n"
    assert "\x1b[" in colored.getvalue()
    assert colored.getvalue().endswith(" hi\n")


def test_color_follows_the_stream_and_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert wants_color(Tty())
    assert not wants_color(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not wants_color(Tty())


@pytest.mark.parametrize(
    ("arguments", "shown"),
    [
        ('{"location": "Paris", "days": 2}', 'location="Paris", days=2'),
        ("", ""),
        ("not json", "not json"),
        ("[1, 2]", "[1, 2]"),
        ('{"text": "' + "x" * 300 + '"}', 'text="' + "x" * 191 + "..."),
    ],
)
def test_arguments_are_shown_as_keywords(arguments: str, shown: str) -> None:
    assert format_arguments(arguments) == shown


def test_the_meter_line_is_erased_by_the_next_line() -> None:
    out = io.StringIO()
    printer = TranscriptPrinter(out, color=True)

    printer.meter("mic [###] -20 dB")
    printer.meter("mic [####] -10 dB")
    printer.user("hi")

    text = out.getvalue()
    assert text.count("mic [") == 2
    assert "\x1b[K\x1b[1m" in text  # erase, then the user line


def test_each_line_of_a_reply_is_prefixed_and_blank_lines_dropped() -> None:
    out = io.StringIO()
    printer = TranscriptPrinter(out, color=False)

    printer.agent_delta("First line.\nSec")
    printer.agent_delta("ond line.\n\n- a list item\n")
    printer.agent_end()
    printer.user("next")

    assert out.getvalue().splitlines() == [
        "agent: First line.",
        "agent: Second line.",
        "agent: - a list item",
        "you: next",
    ]


def test_log_lines_wait_for_the_end_of_the_reply_line() -> None:
    out, err = io.StringIO(), io.StringIO()
    printer = TranscriptPrinter(out, color=False)

    printer.between_lines(err, "WARNING before\n")
    printer.agent_delta("Hello")
    printer.between_lines(err, "WARNING during\n")
    assert err.getvalue() == "WARNING before\n"  # not inside the streaming line
    printer.agent_delta(" there.")
    printer.agent_end()

    assert out.getvalue() == "agent: Hello there.\n"
    assert err.getvalue() == "WARNING before\nWARNING during\n"


def test_a_typed_line_is_relabelled_in_place_on_a_terminal() -> None:
    out = io.StringIO()
    TranscriptPrinter(out, color=True).user_typed("hello")
    assert out.getvalue().startswith("\x1b[1A\r\x1b[2K")  # the echoed line is replaced
    assert "you:" in out.getvalue()
    assert out.getvalue().endswith(" hello\n")
