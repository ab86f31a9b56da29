"""livekit-agents' tests/test_tokenizer.py (the word replacement tests and the paragraph
cases test_tokenize.py lacks) and tests/test_tokenize_sentence_spans.py, ported to vagent.

The sentence and word tokenizer tests, hyphenation and the other paragraph cases are in
test_tokenize_livekit_text.py and test_tokenize.py; the nltk and blingfire tokenizers are
plugins vagent does not have. test_basic_sent_xml_wrapper_keeps_last_char tests a private
helper of livekit's (its markup-aware wrapper), which vagent does not have.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from vagent import tokenize
from vagent.pipeline.tokenize.basic import split_paragraphs, split_sentences

REPLACE_TEXT = (
    "This is a test. Hello world, I'm creating this agents..     framework. Once again "
    "framework.  A.B.C"
)
REPLACE_EXPECTED = (
    "This is a test. Hello universe, I'm creating this assistants..     library. twice again "
    "library.  A.B.C.D"
)
REPLACE_REPLACEMENTS = {
    "world": "universe",
    "framework": "library",
    "a.b.c": "A.B.C.D",
    "once": "twice",
    "agents": "assistants",
}


def chunks_of_1_2_4(text: str) -> list[str]:
    """``text`` cut in pieces of 1, 2 and 4 characters, in turn (as livekit's tests do)."""
    out: list[str] = []
    sizes = [1, 2, 4]
    while text:
        size = sizes[0]
        sizes = [*sizes[1:], size]
        out.append(text[:size])
        text = text[size:]
    return out


def test_replace_words() -> None:
    replaced = tokenize.utils.replace_words(text=REPLACE_TEXT, replacements=REPLACE_REPLACEMENTS)
    assert replaced == REPLACE_EXPECTED


async def test_replace_words_async() -> None:
    async def pieces() -> AsyncIterator[str]:
        for chunk in chunks_of_1_2_4(REPLACE_TEXT):
            yield chunk

    replaced = [
        chunk
        async for chunk in tokenize.utils.replace_words(
            text=pieces(), replacements=REPLACE_REPLACEMENTS
        )
    ]
    assert "".join(replaced) == REPLACE_EXPECTED


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Para 1.\n\nPara 2.\n\nPara 3.",
            [("Para 1.", 0, 7), ("Para 2.", 9, 16), ("Para 3.", 18, 25)],
        ),
        ("Paragraph with trailing newlines.\n\n", [("Paragraph with trailing newlines.", 0, 33)]),
        (
            "\n\n  Paragraph with leading and trailing spaces.  \n\n",
            [("Paragraph with leading and trailing spaces.", 4, 47)],
        ),
    ],
)
def test_split_paragraphs(text: str, expected: list[tuple[str, int, int]]) -> None:
    assert split_paragraphs(text) == expected


def test_basic_sent_last_span_covers_whole_text() -> None:
    text = "Hello world."
    assert split_sentences(text, min_sentence_len=20) == [("Hello world.", 0, len(text))]


def test_basic_sent_last_span_multi_sentence() -> None:
    text = "This is the first sentence. Second one here."
    sentences = split_sentences(text, min_sentence_len=20)
    sentence, start, end = sentences[-1]
    assert end == len(text)
    assert text[start:end].strip() == sentence
