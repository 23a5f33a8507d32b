"""The extractors we compare against, behind one batch interface: ours, trafilatura, resiliparse, plain lynx.

Each factory in ``EXTRACTORS`` returns ``extract(pages: list[str]) -> list[str]`` so evaluation and the
benchmark treat all of them alike.  Heavy imports happen inside the factories. ``TrafilaturaExtractor`` is
also the pipeline's ``extractor: trafilatura``: it has ``MathExtractor``'s interface, so the extract stage
takes either.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .detect import detect
from .evaluate import Extractor
from .extractor import Extraction


@dataclass
class TrafilaturaExtractor:
    """trafilatura (``favor_precision``), with the page's maths detected on its HTML (trafilatura reports none).

    Each page runs in datatrove's ``ExtractorSandbox``, a child process killed and restarted when a page takes
    longer than ``timeout_s``, so one page cannot hang a shard; a failed page gets the reason
    ``extract_timeout``, ``extract_crash`` (the child died) or ``extract_error``, an empty result ``empty_text``.
    ``deduplicate`` is trafilatura's option (on in datatrove's Trafilatura step, whose call this is); it keeps a
    cache of seen text in the process, so the sandbox must live as long as the shard: the extract stage enters
    the extractor (a context manager) once per shard, and ``extract_many`` outside a ``with`` block uses a
    sandbox of its own for the call.
    """

    timeout_s: float = 10.0
    batch_size: int = 32
    deduplicate: bool = True
    _sandbox: Any = field(default=None, init=False, repr=False, compare=False)

    def text(self, html: str) -> str:
        """The extracted text of one page, in this process (no timeout)."""
        import trafilatura

        return (
            trafilatura.extract(html, favor_precision=True, include_comments=False, deduplicate=self.deduplicate) or ""
        )

    def __enter__(self) -> TrafilaturaExtractor:
        from datatrove.pipeline.extractors.base import ExtractorSandbox

        self._sandbox = ExtractorSandbox(timeout=self.timeout_s, warmup_text="").__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        sandbox, self._sandbox = self._sandbox, None
        if sandbox is not None:
            sandbox.__exit__(*exc)

    def __getstate__(self) -> dict:  # a sandbox (a child process) never travels to another process
        return {**self.__dict__, "_sandbox": None}

    def extract_many(self, pages: list[tuple[str, str | None]]) -> list[Extraction]:
        if self._sandbox is None:
            with self:
                return self.extract_many(pages)
        results = []
        for html, _url in pages:
            info = detect(html)
            text, reason = "", None
            try:
                text = self._sandbox.process_document(html, self.text) or ""
            except TimeoutError:
                reason = "extract_timeout"
            except EOFError:
                reason = "extract_crash"
            except Exception:  # noqa: BLE001 - trafilatura's failure on this page, re-raised from the child
                reason = "extract_error"
            results.append(
                Extraction(
                    text, info.has_math, info.formats, info.n_formulas, reason or (None if text else "empty_text")
                )
            )
        return results


def ours(**settings) -> Extractor:
    from .extractor import MathExtractor

    extractor = MathExtractor(**settings)
    return lambda pages: [r.text for r in extractor.extract_many([(html, None) for html in pages])]


def trafilatura_extractor() -> Extractor:
    """trafilatura as its own ``extract`` defaults have it (no deduplication), in this process."""
    extractor = TrafilaturaExtractor(deduplicate=False)
    return lambda pages: [extractor.text(html) for html in pages]


def resiliparse_extractor() -> Extractor:
    from resiliparse.extract.html2text import extract_plain_text

    return lambda pages: [extract_plain_text(html, main_content=True) for html in pages]


def plain_lynx(width: int = 80) -> Extractor:
    """``lynx -dump`` on the raw page, one process per page: the layout-keeping baseline with boilerplate."""
    from .render import lynx_dump

    def run(pages: list[str]) -> list[str]:
        return [lynx_dump(html.encode("utf-8", "replace"), width=width)[0] or "" for html in pages]

    return run


EXTRACTORS: dict[str, Callable[[], Extractor]] = {
    "ours": ours,
    "trafilatura": trafilatura_extractor,
    "resiliparse": resiliparse_extractor,
    "lynx": plain_lynx,
}
