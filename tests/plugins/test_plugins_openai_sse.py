"""The server-sent events decoder: framing is independent of how the bytes are split."""

from __future__ import annotations

import itertools

from hypothesis import given, strategies as st

from vagent.plugins.openai import SSEDecoder, SSEEvent

STREAM = (
    b": comment\n\n"
    b'data: {"a": 1}\n\n'
    b"event: update\r\ndata: line one\r\ndata: line two\r\n\r\n"
    b"id: 7\rdata:no-space\r\r"
    b"data: caf\xc3\xa9\n\n"
    b"retry: 100\nunknown: x\n\n"
    b"data: [DONE]\n\n"
)
EXPECTED = [
    SSEEvent(data='{"a": 1}'),
    SSEEvent(event="update", data="line one\nline two"),
    SSEEvent(data="no-space", id="7"),
    SSEEvent(data="café", id="7"),
    SSEEvent(data="[DONE]", id="7"),
]


def decode(parts: list[bytes]) -> list[SSEEvent]:
    decoder = SSEDecoder()
    events = [event for part in parts for event in decoder.feed(part)]
    return events + decoder.close()


def test_whole_stream() -> None:
    assert decode([STREAM]) == EXPECTED


@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=12))
def test_any_split_gives_the_same_events(cuts: list[int]) -> None:
    points = [0, *sorted(cuts), len(STREAM)]
    parts = [STREAM[a:b] for a, b in itertools.pairwise(points)]
    assert decode(parts) == EXPECTED


def test_event_without_final_blank_line_is_reported_at_close() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: tail") == []
    assert decoder.close() == [SSEEvent(data="tail")]


def test_comment_only_stream_has_no_events() -> None:
    assert decode([b": keepalive\n\n: again\n\n"]) == []
