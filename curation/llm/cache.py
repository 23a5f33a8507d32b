"""Durable cache of raw model replies, so a rerun or a resumed crash only asks the model what is missing.

One SQLite database in WAL mode in the caller's directory (normally the stage folder of the run directory).
Each reply is committed the moment it arrives, so a killed process loses only the requests it had in flight;
WAL plus a busy timeout lets several processes (Dask workers) read and write the same cache at once. Keys
hash everything that determines the reply: hook, prompt fingerprint, model, generation settings and the
chunk text. Raw replies are stored, not parsed ones, so changing a parser never costs model calls.
Failed requests are not stored: a rerun retries them.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from pathlib import Path

from curation.llm.protocol import Completion

CACHE_FILE = "llm_cache.sqlite"
_BUSY_S = 60.0  # how long a writer waits for another process's lock


def cache_key(
    *, hook: str, fingerprint: str, model: str, max_tokens: int, temperature: float, seed: int | None, chunk: str
) -> str:
    """Content hash of one request; identical chunks across documents share it and are asked once."""
    material = json.dumps([hook, fingerprint, model, max_tokens, temperature, seed, chunk], ensure_ascii=False)
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


class ReplyCache:
    """Key -> ``Completion`` store. Open one per process; ``put`` commits immediately."""

    def __init__(self, directory: str | Path):
        self.path = Path(directory) / CACHE_FILE
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=_BUSY_S, isolation_level=None)
        deadline = time.monotonic() + _BUSY_S
        while True:
            try:
                self._setup()
                break
            except sqlite3.OperationalError as err:
                # Two processes opening a fresh cache at once: switching it to WAL needs an exclusive lock that
                # SQLite refuses at once ("database is locked") instead of waiting out the busy timeout.
                if "locked" not in str(err) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def _setup(self) -> None:
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # in WAL: durable across process crashes
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS replies (key TEXT PRIMARY KEY, hook TEXT, model TEXT, text TEXT,"
            " finish_reason TEXT, prompt_tokens INTEGER, completion_tokens INTEGER, created REAL)"
        )

    def get_many(self, keys: list[str]) -> dict[str, Completion]:
        found: dict[str, Completion] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), 500):
            batch = unique[start : start + 500]
            rows = self._db.execute(
                f"SELECT key, text, finish_reason, prompt_tokens, completion_tokens FROM replies"
                f" WHERE key IN ({','.join('?' * len(batch))})",
                batch,
            )
            for key, text, finish_reason, prompt_tokens, completion_tokens in rows:
                found[key] = Completion(text, finish_reason, prompt_tokens, completion_tokens)
        return found

    def put(self, key: str, completion: Completion, *, hook: str, model: str) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO replies VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                key,
                hook,
                model,
                completion.text,
                completion.finish_reason,
                completion.prompt_tokens,
                completion.completion_tokens,
                time.time(),
            ),
        )

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM replies").fetchone()[0]

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ReplyCache:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
