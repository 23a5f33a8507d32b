"""Token counts: the tiktoken path gives exactly the counts of the tokenizers library for SmolLM2."""

from __future__ import annotations

import json

import pytest
from tokenizers import Tokenizer

from curation.tokens import _bytelevel_bpe_counter, load_counter, smollm2_tokenizer_json
from pipelines.eval_data import warc_pages

from conftest import REPO

EDGE_CASES = [
    "",
    "x<|endoftext|>y <|im_start|>user\nhello<|im_end|>",  # special tokens written in the text count as one each
    "日本語のテキスト、中文文本 😀🎉 e\u0301 Ελληνικά ћирилица",
    "line\r\nline\r\n\r\n   \t  x",
    "1234567890 3.14159 $\\frac{a}{b}$ \\int_0^\\infty e^{-x^2}\\,dx",
    " " * 3000 + "a",
    "\x00\x01 bytes \ufffd \x1d\x04\x06\x13\x14\x16 \U00040000",  # bytes SmolLM2's vocabulary lacks are dropped
    "a" * 200_000,
    "don't won't it's we've I'm you'll he'd",
]


@pytest.fixture(scope="module")
def reference():
    tok = Tokenizer.from_file(str(smollm2_tokenizer_json()))
    return lambda texts: [len(e.ids) for e in tok.encode_batch(texts, add_special_tokens=False)]


def test_smollm2_is_counted_through_the_fast_path():
    spec = json.loads(smollm2_tokenizer_json().read_text(encoding="utf-8"))
    assert _bytelevel_bpe_counter(spec) is not None
    spec["normalizer"] = {"type": "NFC"}  # anything tiktoken cannot reproduce falls back to tokenizers
    assert _bytelevel_bpe_counter(spec) is None


@pytest.mark.slow  # tokenizes about 190 whole pages twice
def test_fast_counts_equal_the_tokenizers_library_on_real_pages_and_edge_cases(reference):
    texts = [html for _, html in warc_pages(str(REPO / "sample" / "warc" / "news-and-web.warc.gz"))]
    texts += [json.loads(line)["text"] for line in (REPO / "sample" / "target" / "sympy-docs.jsonl").open()][:200]
    texts += EDGE_CASES
    assert len(texts) > 200
    counts = load_counter("smollm2")(texts)
    assert counts == reference(texts)
    empty, specials = counts[-len(EDGE_CASES) :][:2]
    assert empty == 0 and specials == sum(reference(["x", "y ", "user\nhello"])) + 3


@pytest.mark.parametrize("run", [" \n" * 600_000, "\t" * 1_500_000, ("x" + " " * 150_000) * 10])
def test_megabytes_of_whitespace_are_counted_not_a_regex_stack_error(run):
    long = load_counter("smollm2")([run])[0]
    assert len(run) / 64 <= long <= len(run)  # BPE merges at most ~64 spaces into a token, never more than a char
