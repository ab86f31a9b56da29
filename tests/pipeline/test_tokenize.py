from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest
import trio.testing
from hypothesis import given, strategies as st

from vagent._core import OwnershipError
from vagent.pipeline.tokenize import TokenData, basic, hyphenate_word
from vagent.pipeline.tokenize.basic import split_paragraphs, split_sentences, split_words
from vagent.pipeline.tokenize.utils import replace_words


def test_sentences_respect_abbreviations_initials_and_decimals() -> None:
    text = (
        "Dr. Smith paid $3.50 at example.com today. J. K. Rowling wrote it, e.g. for kids. "
        "Really? Yes! It costs approx. five dollars."
    )
    assert basic.SentenceTokenizer(min_sentence_len=1).tokenize(text) == [
        "Dr. Smith paid $3.50 at example.com today.",
        "J. K. Rowling wrote it, e.g. for kids.",
        "Really?",
        "Yes!",
        "It costs approx. five dollars.",
    ]


def test_short_sentences_are_merged_up_to_min_length() -> None:
    text = "Hi. Ok. This one is long enough. End."
    assert basic.SentenceTokenizer(min_sentence_len=20).tokenize(text) == [
        "Hi. Ok. This one is long enough.",
        "End.",
    ]
    for sentence, start, end in split_sentences(text, min_sentence_len=20):
        assert text[start:end] == sentence


def test_quotes_stay_with_their_sentence() -> None:
    assert basic.SentenceTokenizer(min_sentence_len=1).tokenize('He said "stop." Then left.') == [
        'He said "stop."',
        "Then left.",
    ]


def test_words_with_and_without_punctuation() -> None:
    text = "Hello, world! Don't stop -- e-mail me."
    assert basic.WordTokenizer().tokenize(text) == [
        "Hello",
        "world",
        "Don't",
        "stop",
        "e-mail",
        "me",
    ]
    assert basic.WordTokenizer(ignore_punctuation=False).tokenize(text) == [
        "Hello,", "world!", "Don't", "stop", "--", "e-mail", "me.",
    ]  # fmt: skip
    for word, start, end in split_words(text):
        assert text[start:end] == word


@pytest.mark.parametrize(
    ("word", "pieces"),
    [
        # livekit-agents' own expectations (Liang's algorithm, TeX patterns)
        ("Segment", ["Seg", "ment"]),
        ("expected", ["ex", "pect", "ed"]),
        ("communication", ["com", "mu", "ni", "ca", "tion"]),
        ("window", ["win", "dow"]),
        ("welcome", ["wel", "come"]),
        ("bedroom", ["bed", "room"]),
        ("table", ["ta", "ble"]),
        ("conversation", ["con", "ver", "sa", "tion"]),
        ("make", ["make"]),
        ("cat", ["cat"]),
    ],
)
def test_hyphenate_word_examples(word: str, pieces: list[str]) -> None:
    assert hyphenate_word(word) == pieces


@given(st.text(min_size=1, max_size=30))
def test_hyphenate_word_pieces_rebuild_the_word(word: str) -> None:
    pieces = hyphenate_word(word)
    assert "".join(pieces) == word
    assert all(pieces)


async def test_sentence_stream_emits_when_context_arrives() -> None:
    stream = basic.SentenceTokenizer(min_sentence_len=5, stream_context_len=10).stream()
    stream.push_text("Hello there. Mr")
    assert stream.pop_tokens() == []  # "Mr" could still be "Mr. Smith"
    stream.push_text(". Smith is here")
    tokens = stream.pop_tokens()
    assert [t.token for t in tokens] == ["Hello there."]
    stream.push_text(" now")
    stream.flush()
    flushed = stream.pop_tokens()
    assert [t.token for t in flushed] == ["Mr. Smith is here now"]
    assert flushed[0].segment_id == tokens[0].segment_id
    stream.push_text("Second segment.")
    stream.end_input()
    got: list[TokenData] = [t async for t in stream]
    assert [t.token for t in got] == ["Second segment."]
    assert got[0].segment_id != tokens[0].segment_id
    with pytest.raises(OwnershipError):
        stream.push_text("late")


async def test_word_stream_iterates_while_text_arrives() -> None:
    stream = basic.WordTokenizer().stream()
    seen: list[str] = []
    async with anyio.create_task_group() as tg:

        async def read() -> None:
            async for token in stream:
                seen.append(token.token)

        tg.start_soon(read)
        stream.push_text("one tw")
        await trio.testing.wait_all_tasks_blocked()
        assert seen == ["one"]
        stream.push_text("o three, ")
        stream.push_text("four")
        stream.end_input()
    assert seen == ["one", "two", "three", "four"]


def test_paragraphs() -> None:
    assert basic.tokenize_paragraphs("a b\n\n c d \n\n\n") == ["a b", "c d"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Single paragraph.", [("Single paragraph.", 0, 17)]),
        ("Paragraph 1.\n\nParagraph 2.", [("Paragraph 1.", 0, 12), ("Paragraph 2.", 14, 26)]),
        ("\n\nLeading newlines.", [("Leading newlines.", 2, 19)]),
        ("\n\n  Spaces around.  \n\n", [("Spaces around.", 4, 18)]),
        ("Para 1.\n\n\n\nPara 2.", [("Para 1.", 0, 7), ("Para 2.", 11, 18)]),
        # lines holding only whitespace separate paragraphs too
        ("Para 1.\n \n \nPara 2.", [("Para 1.", 0, 7), ("Para 2.", 12, 19)]),
        ("Para 1.\n\t\nPara 2.", [("Para 1.", 0, 7), ("Para 2.", 10, 17)]),
        ("", []),
        ("\n\n\n", []),
        ("Line 1\nLine 2\nLine 3", [("Line 1\nLine 2\nLine 3", 0, 20)]),
    ],
)
def test_split_paragraphs(text: str, expected: list[tuple[str, int, int]]) -> None:
    assert split_paragraphs(text) == expected


@given(
    st.lists(
        st.sampled_from(
            ["Hello", "Mr.", "Smith", "3.5", "ok.", "Why?", "yes!", "e.g.", "A.", "end."]
        ),
        max_size=40,
    ),
    st.lists(st.integers(min_value=1, max_value=12), min_size=1, max_size=10),
)
def test_sentence_stream_loses_and_duplicates_nothing(words: list[str], cuts: list[int]) -> None:
    text = " ".join(words)
    stream = basic.SentenceTokenizer(min_sentence_len=8, stream_context_len=5).stream()
    pos = 0
    i = 0
    while pos < len(text):
        step = cuts[i % len(cuts)]
        stream.push_text(text[pos : pos + step])
        pos += step
        i += 1
    stream.end_input()
    tokens = [t.token for t in stream.pop_tokens()]
    assert " ".join(tokens).split() == text.split()
    assert all(t == t.strip() and t for t in tokens)


@given(
    st.lists(
        st.sampled_from(["Kit", "kit.", "(KIT)", "kits", "  ", "\n", "a.b", "A.B!"]), max_size=20
    ),
    st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=5),
)
def test_replace_words_streamed_matches_whole_text(words: list[str], cuts: list[int]) -> None:
    """However the text is cut, streamed replacement gives the whole-text result."""
    text = " ".join(words)
    replacements = {"kit": "KIT-REPLACED", "a.b": "a b"}
    pieces: list[str] = []
    pos, i = 0, 0
    while pos < len(text):
        pieces.append(text[pos : pos + cuts[i % len(cuts)]])
        pos += cuts[i % len(cuts)]
        i += 1

    async def source() -> AsyncIterator[str]:
        for piece in pieces:
            yield piece

    async def streamed() -> str:
        return "".join([p async for p in replace_words(text=source(), replacements=replacements)])

    assert trio.run(streamed) == replace_words(text=text, replacements=replacements)
