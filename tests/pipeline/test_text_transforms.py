"""Speech-safe text: streaming markdown and emoji filters and the transform chain."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterable, AsyncIterator
from contextlib import aclosing

import pytest
import trio
from hypothesis import given, settings, strategies as st

from vagent._core import ValidationError
from vagent.pipeline.text_transforms import (
    DEFAULT_TTS_TEXT_TRANSFORMS,
    EmojiFilter,
    MarkdownFilter,
    filter_emoji,
    filter_markdown,
    resolve_text_transforms,
    run_text_transforms,
    strip_emoji,
    strip_markdown,
)

REPLY = "**Sure!** Here is [the link](https://example.com) 😀\n- item one"
SPOKEN = "Sure! Here is the link \nitem one"


class Collect:
    def __init__(self) -> None:
        self.pieces: list[str] = []

    async def send(self, item: str, /) -> None:
        self.pieces.append(item)

    @property
    def text(self) -> str:
        return "".join(self.pieces)


async def pieces_of(parts: list[str]) -> AsyncIterator[str]:
    for part in parts:
        yield part


def split(text: str, cuts: list[int]) -> list[str]:
    bounds = [0, *sorted(cuts), len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


async def speak(parts: list[str], transforms: object = DEFAULT_TTS_TEXT_TRANSFORMS) -> str:
    sink = Collect()
    async with aclosing(pieces_of(parts)) as source:
        await run_text_transforms(source, transforms, sink)  # type: ignore[arg-type]
    return sink.text


async def test_default_transforms_make_the_reply_speakable() -> None:
    assert DEFAULT_TTS_TEXT_TRANSFORMS == ("filter_markdown", "filter_emoji")
    assert await speak([REPLY]) == SPOKEN


async def test_reply_split_at_every_boundary_and_every_pair_of_boundaries() -> None:
    for cut in range(len(REPLY) + 1):
        assert await speak(split(REPLY, [cut])) == SPOKEN, cut
    for a, b in itertools.combinations(range(1, len(REPLY)), 2):
        assert await speak(split(REPLY, [a, b])) == SPOKEN, (a, b)
    # one character at a time
    assert await speak(list(REPLY)) == SPOKEN


@given(st.sets(st.integers(min_value=0, max_value=len(REPLY)), max_size=12))
def test_reply_split_anywhere_by_hypothesis(cuts: set[int]) -> None:
    markdown, emoji = MarkdownFilter(), EmojiFilter()
    out = "".join(emoji.push(markdown.push(p)) for p in split(REPLY, list(cuts)))
    out += emoji.push(markdown.flush()) + emoji.flush()
    assert out == SPOKEN


MARKDOWNISH = st.lists(
    st.sampled_from(
        [*"ab *_`~[]()!#->+\n.,:é中 ", "**", "](", "~~", "```", "1.", "😀", "\u200d", "é"]
    ),
    max_size=40,
).map("".join)


@settings(max_examples=300)
@given(MARKDOWNISH, st.data())
def test_filters_are_split_invariant(text: str, data: st.DataObject) -> None:
    cuts = data.draw(st.sets(st.integers(min_value=0, max_value=len(text)), max_size=10))
    pieces = split(text, list(cuts))
    markdown = MarkdownFilter()
    streamed = "".join(markdown.push(p) for p in pieces) + markdown.flush()
    assert streamed == strip_markdown(text)
    emoji = EmojiFilter()
    streamed = "".join(emoji.push(p) for p in pieces) + emoji.flush()
    assert streamed == strip_emoji(text)


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("# Title\nbody", "Title\nbody"),
        ("### Three words here", "Three words here"),
        ("> a quote\n> - quoted item", "a quote\nquoted item"),
        ("* one\n+ two\n- three", "one\ntwo\nthree"),
        ("before\n---\nafter\n* * *\n", "before\n\nafter\n\n"),
        ("*a* **b** ***c*** _d_ __e__", "a b c d e"),
        ("keep 2 * 3 * 4 and snake_case_name", "keep 2 * 3 * 4 and snake_case_name"),
        ("intra*word*stays", "intra*word*stays"),
        ("run `ls -la` now", "run ls -la now"),
        ("```python\nprint(1)\n```", "\nprint(1)\n"),
        ("old ~~price~~ new", "old  new"),
        ("see ![a diagram](d.png) and [docs](https://x.y/z?q=1).", "see a diagram and docs."),
        ("array[0] is [not a link]", "array[0] is [not a link]"),
        ("这是**重要**的", "这是重要的"),
        ("-5 degrees", "-5 degrees"),
    ],
)
def test_markdown_conversions(text: str, plain: str) -> None:
    assert strip_markdown(text) == plain


def test_markdown_is_released_as_soon_as_it_is_certain() -> None:
    markdown = MarkdownFilter()
    assert markdown.push("**Su") == ""  # the emphasis may still close
    assert markdown.push("re!** Here is ") == "Sure! Here is "
    assert markdown.push("[the li") == ""  # an open link
    assert markdown.push("nk](https://exa") == ""
    assert markdown.push("mple.com) and more") == "the link and "
    assert markdown.flush() == "more"


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("Great 😀!", "Great !"),
        ("family 👨\u200d👩\u200d👧 here", "family  here"),
        ("flag 🇫🇷 ok", "flag  ok"),
        ("thumbs 👍🏽", "thumbs "),
        ("sun ☀️ star ⭐", "sun  star "),
        ("keycap 1️⃣", "keycap 1"),
        ("devanagari क्\u200dष stays", "devanagari क्\u200dष stays"),
        ("plain text", "plain text"),
    ],
)
def test_emoji_removal(text: str, plain: str) -> None:
    assert strip_emoji(text) == plain
    emoji = EmojiFilter()
    assert "".join(emoji.push(c) for c in text) + emoji.flush() == plain


async def test_async_filters_match_the_incremental_ones() -> None:
    parts = split(REPLY, [3, 9, 20, 30, 47])
    async with aclosing(pieces_of(parts)) as source:
        assert "".join([p async for p in filter_markdown(source)]) == strip_markdown(REPLY)
    async with aclosing(pieces_of(parts)) as source:
        assert "".join([p async for p in filter_emoji(source)]) == strip_emoji(REPLY)


async def test_user_transforms_run_in_order_with_the_built_in_ones() -> None:
    async def shout(text: AsyncIterable[str]) -> AsyncIterator[str]:
        async for piece in text:
            yield piece.upper()

    def spell_km(text: AsyncIterable[str]) -> AsyncIterable[str]:
        async def gen() -> AsyncIterator[str]:
            async for piece in text:
                yield piece.replace("KM", "kilometers")

        return gen()

    out = await speak(["**5 km** to go 🚗"], ["filter_markdown", shout, spell_km, "filter_emoji"])
    assert out == "5 kilometers TO GO "


async def test_no_transforms_pass_the_text_unchanged() -> None:
    assert await speak(["**a**", " b"], None) == "**a** b"
    assert await speak(["**a**", " b"], []) == "**a** b"


async def test_transform_generators_are_closed_when_the_chain_is_cancelled() -> None:
    closed: list[str] = []

    async def tracked(text: AsyncIterable[str]) -> AsyncIterator[str]:
        try:
            async for piece in text:
                yield piece
        finally:
            closed.append("tracked")

    async def endless() -> AsyncIterator[str]:
        try:
            while True:
                yield "word "
                await trio.sleep(1)
        finally:
            closed.append("source")

    source = endless()
    with trio.move_on_after(0.5):
        await run_text_transforms(source, ["filter_markdown", tracked], Collect())
    assert "tracked" in closed  # closed by the chain, not left to the garbage collector
    await source.aclose()


def test_bad_transforms_fail_when_resolved() -> None:
    with pytest.raises(ValidationError, match="unknown text transform 'filter_html'"):
        resolve_text_transforms(["filter_html"])  # type: ignore[list-item]
    with pytest.raises(ValidationError, match="must be a list"):
        resolve_text_transforms("filter_markdown")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="a name or a callable"):
        resolve_text_transforms([42])  # type: ignore[list-item]


async def test_a_transform_returning_a_non_iterable_is_a_clear_error() -> None:
    with pytest.raises(TypeError, match="not an async iterable"):
        await speak(["a"], [lambda text: "oops"])

    async def numbers(text: AsyncIterable[str]) -> AsyncIterator[int]:
        async for _ in text:
            yield 1

    with pytest.raises(TypeError, match="yielded int"):
        await speak(["a"], [numbers])
