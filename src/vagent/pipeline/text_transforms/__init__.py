"""Text transforms applied to what the agent speaks: markdown and emoji filters.

An LLM writes for a screen (``**bold**``, ``[links](https://...)``, bullet lists, emoji); a
TTS would read the marks aloud or stumble over them. ``AgentSession(tts_text_transforms=...)``
and ``Agent(tts_text_transforms=...)`` take a list of transforms, built-in names or your own
functions, applied in order to the reply text on its way to the TTS; the transcript shows the
same transformed text, so what is read matches what is heard. The default is
``["filter_markdown", "filter_emoji"]``; ``None`` or ``[]`` turns them off.

The filters are incremental: :class:`MarkdownFilter` and :class:`EmojiFilter` take pieces as
they stream (``push``) and give back the text no later piece can change, so a ``**`` or a
link split across two pieces is still removed, and the result never depends on how the text
was cut. :func:`strip_markdown` and :func:`strip_emoji` do the same on a whole string.
"""

from ._apply import (
    DEFAULT_TTS_TEXT_TRANSFORMS,
    FilteredText,
    TextSink,
    TextTransform,
    TextTransforms,
    filter_emoji,
    filter_markdown,
    resolve_text_transforms,
    run_text_transforms,
)
from ._emoji import EmojiFilter, strip_emoji
from ._markdown import MarkdownFilter, strip_markdown

__all__ = [
    "DEFAULT_TTS_TEXT_TRANSFORMS",
    "EmojiFilter",
    "FilteredText",
    "MarkdownFilter",
    "TextSink",
    "TextTransform",
    "TextTransforms",
    "filter_emoji",
    "filter_markdown",
    "resolve_text_transforms",
    "run_text_transforms",
    "strip_emoji",
    "strip_markdown",
]
