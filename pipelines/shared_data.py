"""Where the real test and evaluation data lives: ``$CURATION_SHARED``, else ``shared/`` beside the checkout."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def shared_dir() -> Path:
    return Path(os.environ.get("CURATION_SHARED") or REPO.parent / "shared")


def shared_data_dir() -> Path:
    return shared_dir() / "data"
