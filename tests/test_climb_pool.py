"""The proxies' pool: documents cut into pieces of about ``piece_tokens`` tokens at line ends."""

import json
from pathlib import Path

import pytest

from climb.pool import split_pieces
from climb.proxy_kn import token_encoder

SAMPLE = Path(__file__).resolve().parent.parent / "sample" / "target" / "sympy-docs.jsonl"


def _long_docs(n: int = 5) -> list[str]:
    texts = [json.loads(line)["text"] for line in SAMPLE.read_text().splitlines()]
    return sorted(texts, key=len, reverse=True)[:n]


@pytest.mark.parametrize("piece_tokens", [64, 512])
def test_pieces_join_back_and_hold_about_the_asked_tokens(piece_tokens):
    encode = token_encoder("smollm2")
    for text in _long_docs():
        n_tokens = len(encode([text])[0])
        pieces = split_pieces(text, n_tokens, piece_tokens)
        assert "".join(pieces) == text
        assert len(pieces) >= n_tokens // (2 * piece_tokens)
        sizes = [len(x) for x in encode(pieces)]
        # cut by characters at the document's own rate: about the asked size on average, a dense stretch
        # (code, formulas) holds more tokens per character than the document as a whole
        assert 0.5 * piece_tokens <= sum(sizes) / len(sizes) <= 1.2 * piece_tokens
        assert max(sizes) <= 3 * piece_tokens
        assert all(p.endswith(("\n", " ")) for p in pieces[:-1])


def test_a_short_document_is_one_piece_and_a_long_line_is_cut_at_spaces():
    assert split_pieces("one line\n", 3, 512) == ["one line\n"]
    line = " ".join(f"word{i}" for i in range(400))  # one line of about 2,800 characters
    pieces = split_pieces(line, 800, 100)
    assert "".join(pieces) == line and len(pieces) >= 7
    assert all(p.endswith(" ") for p in pieces[:-1])
    no_space = "x" * 1000
    assert split_pieces(no_space, 250, 100) == ["x" * 400, "x" * 400, "x" * 200]
