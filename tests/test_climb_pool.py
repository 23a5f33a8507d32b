"""The proxies' pool: documents cut into pieces of about ``piece_tokens`` tokens at line ends."""

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
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


def test_the_cheap_proxy_is_the_model_its_setting_names(tmp_path):
    """``proxy_model`` picks the byte Witten-Bell model or the token Kneser-Ney one, each trained on the same
    pieces the sample draws; the judge is the token model on its own sample size."""
    from climb.proxy import NGramLM, TargetGrams, draw_sample
    from climb.proxy_kn import KneserNeyLM
    from climb.proxy_runs import POOL, SEPARATOR, cheap_bpb, judge_bpb, judge_doc_bits, pool_texts
    from climb.target import read_target_texts, split_target
    from curation.rundir import RunDir

    encode = token_encoder("smollm2")
    pieces = [p for text in _long_docs(4) for p in split_pieces(text, len(encode([text])[0]), 256)]
    ids = encode(pieces)
    clusters = np.arange(len(pieces)) % 2
    n_tokens = np.array([len(x) for x in ids])
    rundir = RunDir(str(tmp_path / "run"))
    rundir.write_table(
        pa.table(
            {
                "cluster": clusters.astype(np.int32),
                "n_tokens": n_tokens,
                "text": pieces,
                "ids": pa.array(ids, pa.list_(pa.uint16())),
            }
        ),
        *POOL,
    )
    spec = dict(target=str(SAMPLE), heldout_fraction=0.5, seed=3, proxy_tokens=3000, judge_tokens=6000)
    spec |= dict(proxy_order=3, judge_order=3, tokenizer="smollm2")
    weights, draw = [0.3, 0.7], [3, 29]
    search_docs, held_docs = split_target(read_target_texts(str(SAMPLE)), 0.5, 3)
    search_part = SEPARATOR.join(search_docs)
    # each document encoded alone, the separator's tokens after it: every token has one document
    target_ids = np.concatenate([x for d in encode(search_docs[:-1]) for x in (d, encode([SEPARATOR])[0])])
    target_ids = np.concatenate([target_ids, encode(search_docs[-1:])[0]])

    def token_bpb(tokens: int) -> float:
        picked = draw_sample(clusters, n_tokens, weights, tokens, draw)
        return KneserNeyLM(3).fit(np.concatenate([ids[i] for i in picked])).bits(target_ids) / len(search_part.encode())

    sample = b"\n\n".join(pieces[i].encode() for i in draw_sample(clusters, n_tokens, weights, 3000, draw))
    as_bytes = NGramLM(3).fit(sample).bits_per_byte(TargetGrams(search_part.encode(), 3))
    root = rundir.root
    pool_texts.cache_clear()
    assert cheap_bpb(root, weights, {**spec, "proxy_model": "tokens"}, draw, heldout=False) == token_bpb(3000)
    assert judge_bpb(root, weights, spec, draw, heldout=False) == token_bpb(6000) != token_bpb(3000)
    assert pool_texts.cache_info().currsize == 0  # the token models never read the pieces' text
    # the judge's bits on each held-out document add up to its bits per byte of the held-out part
    bpb, per_doc = judge_doc_bits(root, weights, spec, draw)
    assert bpb == judge_bpb(root, weights, spec, draw, heldout=True)
    assert len(per_doc) == len(held_docs) and np.all(per_doc > 0)
    assert per_doc.sum() / len(SEPARATOR.join(held_docs).encode()) == pytest.approx(bpb, rel=1e-12)
    assert cheap_bpb(root, weights, {**spec, "proxy_model": "bytes"}, draw, heldout=False) == as_bytes
