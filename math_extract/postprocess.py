"""Tidy lynx output: whitespace, lynx artefacts and mojibake.

lynx centres headings by padding them with spaces (hundreds at a wide width), marks inline images and
empty links with bracketed placeholders, and ends lines with spaces; none of that is content.  Indentation
is kept (it is the layout of lists, quotes and code).  ftfy repairs text that was mis-decoded before it
reached us (UTF-8 read as Windows-1252 and re-encoded), common on old pages.
"""

from __future__ import annotations

import re

_PLACEHOLDER = re.compile(r"\[(?:IMG|INLINE|LINK|BUTTON|hidden|image|spacer|\w+\.(?:png|gif|jpe?g|svg|webp))\]", re.I)
_BLANKS = re.compile(r"\n{3,}")
_RULE = re.compile(r"^\s*[_=\-]{10,}\s*$")  # lynx draws <hr> as a line of underscores
_MOJIBAKE_HINT = re.compile("[ÃÂâ€™œ\u0080-\u009f]")


def tidy(text: str, width: int) -> str:
    """Strip lynx artefacts and centring, collapse blank runs, repair mojibake."""
    lines = []
    centred = max(20, width // 4)
    for line in text.split("\n"):
        line = _PLACEHOLDER.sub("", line).rstrip()
        if _RULE.match(line):
            line = ""
        stripped = line.lstrip(" ")
        if len(line) - len(stripped) >= centred:
            line = stripped
        lines.append(line)
    out = _BLANKS.sub("\n\n", "\n".join(lines)).strip("\n")
    if _MOJIBAKE_HINT.search(out):
        import ftfy

        out = ftfy.fix_text(
            out,
            unescape_html=False,
            fix_latin_ligatures=False,
            fix_character_width=False,
            uncurl_quotes=False,
            normalization="NFC",
        )
    return out
