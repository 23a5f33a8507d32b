"""Charset decoding of real-world payloads: BOMs, meta charsets, wrong headers, binary and invalid bytes."""

import pytest

from curation.decode import DecodeError, decode_html

TEXT = "<html><head><meta charset='windows-1252'></head><body>Café naïve – “quotes”</body></html>"


def test_utf8_bom_wins_over_a_wrong_declared_charset():
    assert decode_html(b"\xef\xbb\xbf<p>caf\xc3\xa9</p>", "iso-8859-1") == "<p>café</p>"


def test_utf16_bom():
    assert decode_html("<p>∑ x</p>".encode("utf-16"), None) == "<p>∑ x</p>"


def test_meta_charset_used_when_bytes_are_not_utf8():
    assert "Café naïve – “quotes”" in decode_html(TEXT.encode("cp1252"), None)


def test_wrong_declared_latin1_on_utf8_bytes_gives_no_mojibake():
    out = decode_html("<p>Café ∑ naïve</p>".encode(), "iso-8859-1")
    assert out == "<p>Café ∑ naïve</p>"


def test_wrong_declared_utf8_on_cp1252_bytes_falls_back():
    out = decode_html("<p>Café naïve – fin</p>".encode("cp1252"), "utf-8")
    assert "Café naïve – fin" in out


def test_unknown_declared_charset_is_ignored():
    assert decode_html("<p>é</p>".encode(), "x-no-such-charset") == "<p>é</p>"


def test_shift_jis_is_detected_without_labels():
    text = "<html><body><p>" + "日本語のテキストです。数学の式を含みます。" * 20 + "</p></body></html>"
    assert "日本語のテキスト" in decode_html(text.encode("shift_jis"), None)


def test_invalid_utf8_sprinkles_are_repaired_not_refused():
    payload = b"<p>" + b"ok " * 500 + b"\xff\xfe\xc3" + b" end</p>"
    out = decode_html(payload, "utf-8")
    assert out.startswith("<p>ok ok") and out.endswith("end</p>")


@pytest.mark.parametrize(
    "payload",
    [
        b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20,
        b"%PDF-1.4\n" + bytes(range(256)) * 20,
        bytes(range(256)) * 50,
        # decodes without error (a BOM says UTF-16), yet is control characters: refused after decoding
        "\ufeff".encode("utf-16-le") + (bytes(range(1, 32)).decode("latin-1") * 200).encode("utf-16-le"),
    ],
)
def test_binary_payloads_labelled_html_are_refused_with_a_reason(payload):
    with pytest.raises(DecodeError) as err:
        decode_html(payload, "utf-8")
    assert err.value.reason == "binary_payload"


def test_empty_payload():
    with pytest.raises(DecodeError) as err:
        decode_html(b"  \n", None)
    assert err.value.reason == "empty"


def test_errors_keep_their_reason_across_processes():
    import pickle

    err = pickle.loads(pickle.dumps(DecodeError("binary_payload", "looks like a PNG")))
    assert err.reason == "binary_payload" and str(err) == "binary_payload: looks like a PNG"
