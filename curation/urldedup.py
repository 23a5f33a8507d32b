"""Exact and near-exact URL dedup: the same page captured twice is kept once.

Why: crawls revisit pages (http and https, with and without ``www.``, a trailing slash, a ``#section``,
``?utm_source=...``). Those copies are the same document and can be dropped before the text-level passes
with no text comparison at all, which makes MinHash cheaper and keeps the newest capture.

The keep rule is deterministic: the latest ``warc_date`` wins, then the first in input order (ISO-8601 dates
compare as strings; a missing date loses to any date). Not the smallest id: ids are made from the shard's path,
so the same inputs under another path (a bucket instead of a disk) would keep other copies.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import Field

from .settings import Name, Settings

DEFAULT_TRACKING_PARAMS = (
    "utm_*",
    "gclid",
    "fbclid",
    "msclkid",
    "dclid",
    "yclid",
    "mc_cid",
    "mc_eid",
    "_ga",
    "_gl",
    "igshid",
    "ref",
    "ref_src",
    "spm",
    "sessionid",
    "phpsessid",
    "jsessionid",
    "sid",
)


class UrlDedupSettings(Settings):
    """How URLs are normalised before they are compared (``dedup.url`` in the run config)."""

    enabled: bool = True
    ignore_scheme: bool = True
    strip_www: bool = True
    strip_trailing_slash: bool = True
    strip_fragment: bool = True
    sort_query: bool = True
    tracking_params: list[Name] = Field(
        default_factory=lambda: list(DEFAULT_TRACKING_PARAMS),
        description="query parameters dropped before comparison; a trailing * matches a prefix",
    )


def _tracking_matcher(patterns: Iterable[str]) -> re.Pattern[str]:
    alternatives = [re.escape(p[:-1]) + ".*" if p.endswith("*") else re.escape(p) for p in patterns]
    return re.compile("^(?:" + "|".join(alternatives or ["(?!)"]) + ")$", re.IGNORECASE)


def normalize_url(url: str, settings: UrlDedupSettings | None = None) -> str:
    """Canonical form of ``url`` for comparison (never for display): lower-case host, default port
    dropped, and scheme, ``www.``, trailing slash, fragment and tracking parameters removed per settings."""
    settings = settings or UrlDedupSettings()
    url = url.strip().strip("<>")
    parts = urlsplit(url)
    scheme = "" if settings.ignore_scheme else parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if settings.strip_www and host.startswith("www."):
        host = host[4:]
    port = parts.port if parts.port not in (None, 80, 443) else None
    netloc = host + (f":{port}" if port else "")
    path = re.sub(r"/{2,}", "/", parts.path or "/")
    if settings.strip_trailing_slash and len(path) > 1:
        path = path.rstrip("/") or "/"
    is_tracking = _tracking_matcher(settings.tracking_params)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not is_tracking.match(k)]
    if settings.sort_query:
        query.sort()
    fragment = "" if settings.strip_fragment else parts.fragment
    return urlunsplit((scheme, netloc, path, urlencode(query), fragment))


def _rank(record: tuple[str, str, str | None]) -> tuple:
    """Sort key that puts the record to keep first: latest date (the sort is stable, so among equal dates the
    first in input order)."""
    _doc_id, _url, date = record
    return (date is None, _negate(date or ""))


def _negate(date: str) -> tuple[int, ...]:
    return tuple(-ord(c) for c in date)


def find_url_duplicates(
    records: Iterable[tuple[str, str, str | None]], settings: UrlDedupSettings | None = None
) -> dict[str, str]:
    """Global step over ``(id, url, warc_date)`` records from all shards, in input order.

    Returns ``{removed_id: kept_id}``. Records without a URL are never duplicates.
    """
    settings = settings or UrlDedupSettings()
    groups: dict[str, list[tuple[str, str, str | None]]] = {}
    for record in records:
        if record[1]:
            groups.setdefault(normalize_url(record[1], settings), []).append(record)
    removed: dict[str, str] = {}
    for members in groups.values():
        if len(members) > 1:
            members.sort(key=_rank)
            keeper = members[0][0]
            removed.update({m[0]: keeper for m in members[1:] if m[0] != keeper})
    return removed
