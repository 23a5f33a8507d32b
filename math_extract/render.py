"""Layout rendering with the real lynx binary, many documents per lynx process.

Starting lynx costs more than rendering a page, so a batch of pre-processed documents is joined into one
HTML file with a unique marker paragraph between documents, rendered once, and split on the markers.  A
batch that times out is re-rendered one document at a time; one that crashes or loses a marker is split in
halves until the bad document is alone, so one bad page costs only itself.  lynx runs in its own process group with a deadline; a hung lynx is killed with its children
and never stalls the run.

Tables make a batch cost more than its pages: lynx lays out each ``<table>`` after walking the rendered lines
from the top of the document, so a table costs as much as the text before it in the batch (about 0.13 ms per
MB before it). So the pages with tables go first in the joined file, those with the fewest bytes per table
first (Smith's rule: the order that minimises the sum of table x text before it), the pages without tables
after them; and a batch is closed once its tables times the bytes of its pages with tables reach
:data:`MAX_TABLE_LOAD` (:class:`BatchLoad`), where that walk would cost more than starting another lynx.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
from dataclasses import dataclass


@dataclass
class Rendered:
    """One document's lynx output, or the reason it has none (``lynx_timeout``, ``lynx_crash``, ...)."""

    text: str
    reason: str | None = None


def lynx_dump(
    html: bytes, lynx: str = "lynx", width: int = 1000, timeout_s: float = 10.0
) -> tuple[str | None, str | None]:
    """Run `lynx -dump` on one HTML byte string; returns (text, None) or (None, reason)."""
    cmd = [
        lynx,
        "-dump",
        "-stdin",
        "-force_html",
        "-nolist",
        "-noreferer",
        "-nomargins",
        "-nonumbers",
        f"-width={width}",
        "-assume_charset=utf-8",
        "-display_charset=utf-8",
        "-hiddenlinks=ignore",
    ]
    env = dict(os.environ, LANG="C.UTF-8", LC_ALL="C.UTF-8", TERM="dumb")
    try:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
        )
    except OSError as err:
        return None, "lynx_missing" if isinstance(err, FileNotFoundError) else "lynx_crash"
    try:
        out, _ = proc.communicate(html, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        return None, "lynx_timeout"
    except BaseException:
        _kill_group(proc)
        raise
    if proc.returncode != 0:
        return None, "lynx_crash"
    return out.decode("utf-8", errors="replace"), None


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.communicate(timeout=5)
    except (subprocess.TimeoutExpired, ValueError, OSError):
        pass


#: tables x bytes of the pages with tables at which a batch is closed: lynx then spends about as much walking
#: lines for its tables as starting another lynx costs (17 ms); measured on Debian's PostgreSQL and Octave manuals
MAX_TABLE_LOAD = 300_000_000


def table_count(body: bytes) -> int:
    """The tables of a serialised body (lxml writes tags in lower case)."""
    return body.count(b"<table")


@dataclass
class BatchLoad:
    """What a batch of bodies holds: pages, bytes, and tables with the bytes of their pages (see the module note)."""

    pages: int = 0
    size: int = 0
    tables: int = 0
    table_bytes: int = 0

    def add(self, body: bytes) -> None:
        tables = table_count(body)
        self.pages += 1
        self.size += len(body)
        if tables:
            self.tables += tables
            self.table_bytes += len(body)

    def full_with(self, body: bytes, max_pages: int, max_bytes: int) -> bool:
        """Whether a non-empty batch should be rendered before ``body`` joins it."""
        if not self.pages:
            return False
        if self.pages >= max_pages or self.size + len(body) > max_bytes:
            return True
        tables = table_count(body)
        return bool(tables) and (self.tables + tables) * (self.table_bytes + len(body)) > MAX_TABLE_LOAD


def lynx_order(bodies: list[bytes]) -> list[int]:
    """The order in which a batch's bodies are joined (indices): pages with tables first, fewest bytes per table
    first, then the others as they came."""
    tables = [table_count(body) for body in bodies]
    first = sorted((i for i, n in enumerate(tables) if n), key=lambda i: len(bodies[i]) / tables[i])
    return first + [i for i, n in enumerate(tables) if not n]


_HEAD = b'<html><head><meta charset="utf-8"></head><body>'
_TAIL = b"</body></html>"


def render_one(body_html: bytes, lynx: str, width: int, timeout_s: float) -> Rendered:
    """Render one document body (already serialised inner HTML, UTF-8)."""
    text, reason = lynx_dump(_HEAD + body_html + _TAIL, lynx, width, timeout_s)
    return Rendered(text or "", reason)


def split_on_markers(text: str, token: str) -> tuple[list[str], list[str]]:
    """The labels of the marker lines of ``text`` (lines holding only ``token`` + ``B<n>`` or ``E``, spaces and tabs
    around) and the texts around them: ``re.split(r"^[ \\t]*TOKEN(B\\d+|E)[ \\t]*$", text, flags=re.M)``, split into
    its labels and pieces, done from the token's occurrences: a pattern that starts with ``^[ \\t]*`` is tried at
    every character of the output (megabytes per batch), one that starts with the token is searched for as a string.
    """
    labels: list[str] = []
    pieces: list[str] = []
    last = 0
    for m in re.finditer(rf"{token}(B\d+|E)[ \t]*$", text, flags=re.M):
        line_start = text.rfind("\n", 0, m.start()) + 1
        if text[line_start : m.start()].strip(" \t"):
            continue  # the token inside a line of text: not a marker
        pieces.append(text[last:line_start])
        labels.append(m.group(1))
        last = m.end()
    pieces.append(text[last:])
    return labels, pieces


def render_batch(
    bodies: list[bytes], lynx: str = "lynx", width: int = 1000, timeout_s: float = 20.0, per_doc_timeout_s: float = 10.0
) -> list[Rendered]:
    """Render many document bodies with one lynx process. On a failure, a batch that ran out of time is rendered
    one body at a time (each under its own deadline); one that crashed or lost its markers is split in two halves,
    rendered the same way, so that one bad body among a thousand costs about twenty lynx runs, not a thousand."""
    if not bodies:
        return []
    if len(bodies) == 1:
        return [render_one(bodies[0], lynx, width, per_doc_timeout_s)]
    token = "MXSEP" + secrets.token_hex(8)
    order = lynx_order(bodies)
    parts = [_HEAD]
    for i in order:  # marker B<i> before body i, whatever its place in the file
        parts.append(f"<p>{token}B{i}</p><div>".encode())
        parts.append(bodies[i])
        parts.append(b"</div>")
    parts.append(f"<p>{token}E</p>".encode() + _TAIL)
    text, reason = lynx_dump(b"".join(parts), lynx, width, timeout_s)
    if text is not None:
        labels, pieces = split_on_markers(text, token)
        # pieces: [before, text of body order[0], text of body order[1], ..., after]
        if labels == [f"B{i}" for i in order] + ["E"]:
            rendered: list[Rendered | None] = [None] * len(bodies)
            for place, i in enumerate(order):
                rendered[i] = Rendered(pieces[1 + place])
            return [r for r in rendered if r is not None]
    if reason in (None, "lynx_crash") and len(bodies) > 2:
        half = len(bodies) // 2
        return [
            *render_batch(bodies[:half], lynx, width, timeout_s, per_doc_timeout_s),
            *render_batch(bodies[half:], lynx, width, timeout_s, per_doc_timeout_s),
        ]
    return [render_one(body, lynx, width, per_doc_timeout_s) for body in bodies]
