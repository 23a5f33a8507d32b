"""Bytes to text for web pages whose charset labels cannot be trusted: the first thing done to a record.

Order of evidence: a byte-order mark; then strict UTF-8 (a non-ASCII payload that is valid UTF-8 is almost
never meant as Latin-1, so this beats a wrong ``iso-8859-1`` header, the commonest lie); then the declared
HTTP charset and the ``<meta>`` charset, each only if it decodes strictly; then cchardet's guess; finally
Windows-1252 with replacement when only a few bytes are bad.  Binary payloads labelled ``text/html`` are
refused with ``binary_payload`` rather than turned into garbage text.

It lives in the core, beside the WARC reader, because it reads the record's HTTP charset and serves every
extractor (and WET text) alike; extractors receive decoded text.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping
from typing import Any


class DecodeError(ValueError):
    """A payload that is not text in any charset we can trust; ``reason`` (``binary_payload``, ``undecodable``,
    ``empty``) is what the extract stage counts the dropped record under."""

    def __init__(self, reason: str, message: str = "") -> None:
        super().__init__(f"{reason}: {message}" if message else reason)
        self.reason = reason
        self.message = message

    def __reduce__(self):  # keep the reason when the error crosses a process boundary
        return (type(self), (self.reason, self.message))


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_MAGIC = (
    b"\x89PNG",
    b"GIF8",
    b"\xff\xd8\xff",
    b"%PDF",
    b"PK\x03\x04",
    b"\x1f\x8b",
    b"\x7fELF",
    b"BZh",
    b"\xfd7zXZ",
    b"Rar!",
    b"OggS",
    b"ID3",
    b"RIFF",
    b"\x00\x00\x01\x00",
    b"wOFF",
    b"wOF2",
)
_META_CHARSET = re.compile(rb"""<meta[^>]{0,300}?charset\s*=\s*["']?\s*([a-zA-Z0-9_:.+-]{1,40})""", re.I)
# WHATWG: these labels mean windows-1252 in browsers, and pages rely on it.
_ALIASES = {
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "x-sjis": "shift_jis",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-user-defined": "cp1252",
    "unicode": "utf-16",
    "utf8": "utf-8",
}
_MULTIBYTE = {
    "shift_jis",
    "euc_jp",
    "gb18030",
    "big5",
    "euc_kr",
    "iso2022_jp",
    "iso2022_kr",
    "cp932",
    "cp949",
    "cp950",
    "big5hkscs",
    "johab",
    "utf-16",
    "utf-32",
}
_CONTROL_CHARS = bytes([*range(0, 9), *range(14, 32), 127])


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    label = _ALIASES.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


_CONTROL_BYTES = bytes(c for c in range(32) if c not in (9, 10, 12, 13, 27))


def _looks_binary(head: bytes) -> bool:
    if head.startswith(_MAGIC):
        return True
    # text in 8-bit and multibyte charsets has almost no C0 control bytes (ESC is ISO-2022's shift);
    # UTF-16/32 without a BOM is handled by the caller through the declared charset
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    return controls > len(head) // 100 + 1


def _strict(payload: bytes, codec: str | None) -> str | None:
    if not codec:
        return None
    try:
        return payload.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def _mostly_controls(text: str) -> bool:
    """More than 2% control characters in the first 20,000: binary data, whatever its label says.

    Counted on the UTF-8 bytes with ``bytes.translate`` (control characters are single bytes in UTF-8), which
    is several times cheaper than a regex over the text."""
    sample = text[:20000]
    head = sample.encode("utf-8", "surrogatepass")
    return len(head) - len(head.translate(None, _CONTROL_CHARS)) > len(sample) * 0.02


def _check_text(text: str) -> str:
    if _mostly_controls(text):
        raise DecodeError("binary_payload", "control characters in decoded text")
    return text


def decode_html(payload: bytes, declared_charset: str | None = None) -> str:
    """Decode an HTML payload; raises ``DecodeError`` with a ``reason`` when it can't."""
    if not isinstance(payload, (bytes, bytearray, memoryview)):
        raise TypeError("decode_html expects bytes")
    payload = bytes(payload)
    if not payload.strip():
        raise DecodeError("empty", "no bytes")
    for bom, bom_codec in _BOMS:
        if payload.startswith(bom):
            return _check_text(payload[len(bom) :].decode(bom_codec, errors="replace"))
    declared = _codec(declared_charset)
    head = payload[:4096]
    if declared and declared.startswith(("utf-16", "utf-32")):
        wide = _strict(payload, declared)
        if wide is not None:
            return _check_text(wide)
    if _looks_binary(head):
        raise DecodeError("binary_payload", "payload looks like a binary file")
    text: str | None = _strict(payload, "utf-8")
    if text is not None:
        return _check_text(text)
    match = _META_CHARSET.search(head)
    meta = _codec(match.group(1).decode("ascii", "ignore")) if match else None
    for codec in (declared, meta):
        if codec and codec != "utf-8":
            text = _strict(payload, codec)
            if text is not None:
                return _check_text(text)
    guess: Mapping[str, Any] = {}
    try:
        import cchardet  # faust-cchardet

        guess = cchardet.detect(payload[:200000])
    except ImportError:  # pragma: no cover - declared dependency
        pass
    guessed = _codec(guess.get("encoding"))
    confidence = guess.get("confidence") or 0
    # cchardet often mistakes short Western text for another single-byte code page; Windows-1252 is the
    # web's commonest single-byte charset, so it wins unless the guess is sure or multibyte.
    order = [guessed] if confidence >= 0.9 or guessed in _MULTIBYTE else []
    order += ["cp1252"] + ([guessed] if confidence >= 0.5 else [])
    for codec in order:
        text = _strict(payload, codec)
        if text is not None:
            return _check_text(text)
    for codec in (declared, meta, guessed, "utf-8", "cp1252"):
        if not codec:
            continue
        text = payload.decode(codec, errors="replace")
        if text.count("\ufffd") <= max(8, len(text) // 200):
            return _check_text(text)
    raise DecodeError("undecodable", "no charset decodes this payload")
