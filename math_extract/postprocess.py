"""Tidy lynx output: whitespace, lynx artefacts and mojibake.

lynx centres headings by padding them with spaces (hundreds at a wide width), marks inline images and
empty links with bracketed placeholders, and ends lines with spaces; none of that is content.  Indentation
is kept (it is the layout of lists, quotes and code).  ftfy repairs text that was mis-decoded before it
reached us (UTF-8 read as Windows-1252 and re-encoded), common on old pages.
"""

from __future__ import annotations

import re

from .budget import UNBOUNDED, Deadline

_PLACEHOLDER = re.compile(r"\[(?:IMG|INLINE|LINK|BUTTON|hidden|image|spacer|\w+\.(?:png|gif|jpe?g|svg|webp))\]", re.I)
# Written with a literal prefix, which the regex engine searches for as a string: ``\n{3,}`` costs ten times more
# (it is tried at every character), a third of tidying on documentation pages.
_BLANKS = re.compile(r"\n\n\n+")
_RULE = re.compile(r"^\s*[_=\-]{10,}\s*$")  # lynx draws <hr> as a line of underscores
_MOJIBAKE_HINT = re.compile("[ÃÂâ€™œ\u0080-\u009f]")
# ftfy repairs line by line, so pieces of whole lines (about 64 K characters) repair as the whole text does; a
# longer line is cut at 256 K characters, as ftfy itself cuts lines (at max_decode_length, 1 M by default).
_FTFY_PIECE = 65_536
_FTFY_LONGEST = 262_144


def tidy(text: str, width: int, deadline: Deadline = UNBOUNDED) -> str:
    """Strip lynx artefacts and centring, collapse blank runs, repair mojibake.

    ftfy costs about 15 µs a line on mojibake (seconds on a large page), so it is given the text in pieces of
    whole lines, with ``deadline`` checked between them; it works line by line, so the result is the same."""
    lines = []
    centring = " " * max(20, width // 4)
    # Per line only what must be: a placeholder never spans lines, so one pass over the text removes them all; a
    # rule ends in one of its characters once stripped, and a centred line starts with the centring's spaces.
    # A syntax-highlighted source page has a line per line of code, and this loop is run once per line.
    for line in _PLACEHOLDER.sub("", text).split("\n"):
        line = line.rstrip()
        if line and line[-1] in "_=-" and _RULE.match(line):
            line = ""
        elif line.startswith(centring):
            line = line.lstrip(" ")
        lines.append(line)
    out = _BLANKS.sub("\n\n", "\n".join(lines)).strip("\n")
    if not out.isascii() and _MOJIBAKE_HINT.search(out):  # every hint is non-ASCII; isascii is one flag test
        import ftfy

        config = ftfy.TextFixerConfig(
            unescape_html=False,
            fix_latin_ligatures=False,
            fix_character_width=False,
            uncurl_quotes=False,
            normalization="NFC",
        )
        pieces = []
        start = 0
        while start < len(out):
            deadline.check("tidy")
            end = min(out.find("\n", start + _FTFY_PIECE) + 1 or len(out), start + _FTFY_LONGEST)
            pieces.append(ftfy.fix_text(out[start:end], config))
            start = end
        out = "".join(pieces)
    return out
