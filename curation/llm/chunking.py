"""Split a document into token-bounded chunks on paragraph boundaries, losing nothing.

NVIDIA's port of the Nemotron-CC-Math cleanup silently drops a paragraph longer than the chunk limit. Here a
paragraph that does not fit is split on line breaks, then between words, then (a single enormous "word", such
as a base64 blob) by characters, so ``"".join(split_into_chunks(text, ...)) == text`` always holds.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_PARAGRAPHS = re.compile(r".*?(?:\n[ \t]*\n\s*|\Z)", re.DOTALL)  # a paragraph with the blank lines after it
_LINES = re.compile(r".*?(?:\n|\Z)", re.DOTALL)
_WORDS = re.compile(r"\S*\s*")


def _pieces(text: str, pattern: re.Pattern) -> list[str]:
    return [piece for piece in pattern.findall(text) if piece]


def _split_chars(text: str, count: Callable[[str], int], limit: int) -> list[str]:
    """Longest prefixes that fit, found by bisection; at least one character each so it always progresses."""
    out = []
    while text:
        lo, hi = 1, len(text)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if count(text[:mid]) <= limit:
                lo = mid
            else:
                hi = mid - 1
        out.append(text[:lo])
        text = text[lo:]
    return out


_LEVELS = (_PARAGRAPHS, _LINES, _WORDS)


def _units(text: str, count: Callable[[str], int], limit: int, level: int = 0) -> list[tuple[str, int]]:
    """Pieces of ``text`` each within ``limit`` tokens, with their counts, splitting finer only where needed."""
    if level == len(_LEVELS):
        return [(piece, count(piece)) for piece in _split_chars(text, count, limit)]
    units = []
    for piece in _pieces(text, _LEVELS[level]):
        n = count(piece)
        if n <= limit:
            units.append((piece, n))
        else:
            units.extend(_units(piece, count, limit, level + 1))
    return units


def split_into_chunks(text: str, count_tokens: Callable[[str], int], max_tokens: int) -> list[str]:
    """Greedily pack paragraphs (or their pieces) into chunks of at most ``max_tokens`` tokens.

    Token counts of pieces are summed as an estimate; a packed chunk whose real count exceeds the limit
    (tokenizers merge across piece boundaries) is packed again at a finer level.
    """
    return [chunk for chunk, _ in split_into_counted_chunks(text, count_tokens, max_tokens)]


def split_into_counted_chunks(text: str, count_tokens: Callable[[str], int], max_tokens: int) -> list[tuple[str, int]]:
    """``split_into_chunks`` with each chunk's real token count, which the split has to measure anyway.

    The runner sizes each reply from its chunk's count; taking it from here saves tokenizing every chunk a
    second time.
    """
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be >= 1, got {max_tokens}")
    if not text:
        return []
    chunks: list[str] = []
    current, current_n = "", 0
    for piece, n in _units(text, count_tokens, max_tokens):
        if current and current_n + n > max_tokens:
            chunks.append(current)
            current, current_n = "", 0
        current += piece
        current_n += n
    if current:
        chunks.append(current)
    exact: list[tuple[str, int]] = []
    for chunk in chunks:
        n = count_tokens(chunk)
        if n > max_tokens:
            exact.extend(split_into_chunks_strict(chunk, count_tokens, max_tokens))
        else:
            exact.append((chunk, n))
    return exact


def split_into_chunks_strict(text: str, count_tokens: Callable[[str], int], max_tokens: int) -> list[tuple[str, int]]:
    """Re-pack one over-full chunk checking the real count at every step (slower, only used as a repair).

    Returns ``(chunk, tokens)`` pairs: the count that admitted a chunk's last piece is the chunk's own count.
    """
    out: list[tuple[str, int]] = []
    current, current_n = "", 0
    for piece, n in _units(text, count_tokens, max_tokens):
        if current:
            joined_n = count_tokens(current + piece)
            if joined_n > max_tokens:
                out.append((current, current_n))
                current, current_n = piece, n
            else:
                current, current_n = current + piece, joined_n
        else:
            current, current_n = piece, n
    if current:
        out.append((current, current_n))
    return out


def merge_chunks(outputs: list[str]) -> str:
    """Join per-chunk outputs in order, one blank line between them (chunks end on paragraph boundaries)."""
    return "\n\n".join(part.strip() for part in outputs if part.strip())
