"""Layout rendering with the real lynx binary, many documents per lynx process.

Starting lynx costs more than rendering a page, so a batch of pre-processed documents is joined into one
HTML file with a unique marker paragraph between documents, rendered once, and split on the markers.  A
batch that times out, crashes or loses a marker is re-rendered one document at a time, so one bad page costs
only itself.  lynx runs in its own process group with a deadline; a hung lynx is killed with its children
and never stalls the run.
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


_HEAD = b'<html><head><meta charset="utf-8"></head><body>'
_TAIL = b"</body></html>"


def render_one(body_html: bytes, lynx: str, width: int, timeout_s: float) -> Rendered:
    """Render one document body (already serialised inner HTML, UTF-8)."""
    text, reason = lynx_dump(_HEAD + body_html + _TAIL, lynx, width, timeout_s)
    return Rendered(text or "", reason)


def render_batch(
    bodies: list[bytes], lynx: str = "lynx", width: int = 1000, timeout_s: float = 20.0, per_doc_timeout_s: float = 10.0
) -> list[Rendered]:
    """Render many document bodies with one lynx process; fall back to one at a time on any failure."""
    if not bodies:
        return []
    if len(bodies) == 1:
        return [render_one(bodies[0], lynx, width, per_doc_timeout_s)]
    token = "MXSEP" + secrets.token_hex(8)
    parts = [_HEAD]
    for i, body in enumerate(bodies):
        parts.append(f"<p>{token}B{i}</p><div>".encode())
        parts.append(body)
        parts.append(b"</div>")
    parts.append(f"<p>{token}E</p>".encode() + _TAIL)
    text, reason = lynx_dump(b"".join(parts), lynx, width, timeout_s)
    if text is not None:
        pieces = re.split(rf"^[ \t]*{token}(B\d+|E)[ \t]*$", text, flags=re.M)
        # pieces: [before, "B0", text0, "B1", text1, ..., "E", after]
        labels = pieces[1::2]
        if labels == [f"B{i}" for i in range(len(bodies))] + ["E"]:
            return [Rendered(pieces[2 + 2 * i]) for i in range(len(bodies))]
    return [render_one(body, lynx, width, per_doc_timeout_s) for body in bodies]
