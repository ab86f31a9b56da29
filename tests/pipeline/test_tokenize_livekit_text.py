# ruff: noqa: RUF001 - full-width punctuation is the subject here
"""The basic sentence tokenizer on livekit-agents' own test text gives livekit's sentences."""

from __future__ import annotations

import pytest

from vagent.pipeline.tokenize import basic

TEXT = (
    "Hi! "
    "LiveKit is a platform for live audio and video applications and services. \n\n"
    "R.T.C stands for Real-Time Communication... again R.T.C. "
    "Mr. Theo is testing the sentence tokenizer. "
    "\nThis is a test. Another test. "
    "A short sentence.\n"
    "A longer sentence that is longer than the previous sentence. "
    "f(x) = x * 2.54 + 42. "
    "Hey!\n Hi! Hello! "
    "\n\n"
    "This is a sentence. 这是一个中文句子。これは日本語の文章です。"
    "你好！LiveKit是一个直播音频和视频应用程序和服务的平台。"
    "\nThis is a sentence contains   consecutive spaces."
)

EXPECTED = [
    "Hi! LiveKit is a platform for live audio and video applications and services.",
    "R.T.C stands for Real-Time Communication... again R.T.C.",
    "Mr. Theo is testing the sentence tokenizer.",
    "This is a test. Another test.",
    "A short sentence. A longer sentence that is longer than the previous sentence.",
    "f(x) = x * 2.54 + 42.",
    "Hey! Hi! Hello! This is a sentence.",
    "这是一个中文句子。 これは日本語の文章です。",
    "你好！ LiveKit是一个直播音频和视频应用程序和服务的平台。",
    "This is a sentence contains   consecutive spaces.",
]

EXPECTED_RETAIN_FORMAT = [
    "Hi! LiveKit is a platform for live audio and video applications and services.",
    " \n\nR.T.C stands for Real-Time Communication... again R.T.C.",
    " Mr. Theo is testing the sentence tokenizer.",
    " \nThis is a test. Another test.",
    " A short sentence.\nA longer sentence that is longer than the previous sentence.",
    " f(x) = x * 2.54 + 42.",
    " Hey!\n Hi! Hello! \n\nThis is a sentence.",
    " 这是一个中文句子。これは日本語の文章です。",
    "你好！LiveKit是一个直播音频和视频应用程序和服务的平台。",
    "\nThis is a sentence contains   consecutive spaces.",
]

TOKENIZERS = [
    (basic.SentenceTokenizer(min_sentence_len=20), EXPECTED),
    (basic.SentenceTokenizer(min_sentence_len=20, retain_format=True), EXPECTED_RETAIN_FORMAT),
]


@pytest.mark.parametrize(("tokenizer", "expected"), TOKENIZERS)
def test_sentences(tokenizer: basic.SentenceTokenizer, expected: list[str]) -> None:
    assert tokenizer.tokenize(TEXT) == expected


@pytest.mark.parametrize(("tokenizer", "expected"), TOKENIZERS)
async def test_streamed_sentences(tokenizer: basic.SentenceTokenizer, expected: list[str]) -> None:
    stream = tokenizer.stream()
    text, sizes = TEXT, [1, 2, 4]
    while text:  # chunks of 1, 2 and 4 characters, as an LLM might send them
        size = sizes[0]
        sizes = [*sizes[1:], size]
        stream.push_text(text[:size])
        text = text[size:]
    stream.end_input()
    assert [token.token async for token in stream] == expected


def test_no_newline_inside_a_sentence() -> None:
    text = "First line\nstill the first sentence.\nSecond one\r\nhere!"
    assert basic.SentenceTokenizer(min_sentence_len=1).tokenize(text) == [
        "First line still the first sentence.",
        "Second one here!",
    ]


def test_cjk_replies_reach_the_tts_sentence_by_sentence() -> None:
    reply = "今天天气很好。我们去公园吧！你觉得怎么样？好的"
    assert basic.SentenceTokenizer(min_sentence_len=1).tokenize(reply) == [
        "今天天气很好。",
        "我们去公园吧！",
        "你觉得怎么样？",
        "好的",
    ]
    japanese = "こんにちは。今日はいい天気ですね。散歩に行きましょう。"
    assert basic.SentenceTokenizer(min_sentence_len=10).tokenize(japanese) == [
        "こんにちは。 今日はいい天気ですね。",
        "散歩に行きましょう。",
    ]


WORDS_TEXT = "This is a test. Blabla another test! multiple consecutive spaces:     done"
WORDS_PUNCT_TEXT = (
    'This is <phoneme alphabet="cmu-arpabet" ph="AE K CH UW AH L IY">actually</phoneme>'
    " tricky to handle.这是一个中文句子。 これは日本語の文章です。"
)


async def _streamed(tokenizer: basic.WordTokenizer, text: str) -> list[str]:
    stream = tokenizer.stream()
    sizes = [1, 2, 4]
    while text:
        size = sizes[0]
        sizes = [*sizes[1:], size]
        stream.push_text(text[:size])
        text = text[size:]
    stream.end_input()
    return [token.token async for token in stream]


async def test_words() -> None:
    expected = [
        "This",
        "is",
        "a",
        "test",
        "Blabla",
        "another",
        "test",
        "multiple",
        "consecutive",
        "spaces",
        "done",
    ]
    tokenizer = basic.WordTokenizer()
    assert tokenizer.tokenize(WORDS_TEXT) == expected
    assert await _streamed(tokenizer, WORDS_TEXT) == expected


async def test_words_split_by_character() -> None:
    expected = [
        *["This", "is", "<phoneme", 'alphabet="cmu-arpabet"', 'ph="AE', "K", "CH", "UW", "AH", "L"],
        'IY">actually</phoneme>',
        *["tricky", "to", "handle.", "这", "是", "一", "个", "中", "文", "句", "子", "。"],
        *["こ", "れ", "は", "日", "本", "語", "の", "文", "章", "で", "す", "。"],
    ]
    tokenizer = basic.WordTokenizer(ignore_punctuation=False, split_character=True)
    assert tokenizer.tokenize(WORDS_PUNCT_TEXT) == expected
    assert await _streamed(tokenizer, WORDS_PUNCT_TEXT) == expected


def test_cjk_clauses_end_words() -> None:
    words = basic.WordTokenizer(ignore_punctuation=False).tokenize(
        "你好，今天很好。价格是１，０００元"
    )
    assert words == ["你好，", "今天很好。", "价格是１，０００元"]
    assert basic.WordTokenizer().tokenize("你好，今天很好。") == ["你好", "今天很好"]
