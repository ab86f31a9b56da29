"""Splitting an English word into syllables (for word timing in transcripts).

Frank Liang's algorithm with Knuth's TeX patterns for US English, from the public-domain
``hyphenate`` package: the same pieces as livekit-agents' basic tokenizer (``ex-pect-ed``,
``com-mu-ni-ca-tion``). Words of up to four letters are not split, and the pieces always
join back into the word. Importing builds the pattern tree (about 0.1 s), so it happens when
the tokenizers are imported, not in the middle of a reply.
"""

from __future__ import annotations

import hyphenate as _liang


def hyphenate_word(word: str) -> list[str]:
    """Syllables of ``word`` that concatenate back to ``word``."""
    pieces: list[str] = _liang.hyphenate_word(word)
    return pieces
