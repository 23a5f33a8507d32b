"""Maths-preserving HTML extraction: every maths format to TeX, boilerplate removed, lynx layout.

Decoded HTML in, text out; this package imports nothing else of the project (see ARCHITECTURE.md).
Public API: ``MathExtractor`` / ``Extraction`` (the extractor), ``TrafilaturaExtractor`` (the same interface
over trafilatura), ``detect`` / ``MathInfo`` (maths formats on raw HTML), ``MathScorer`` (maths score and
formula masking for the filter stage). Imports are light (no lxml until a page is extracted).
"""

from .baselines import TrafilaturaExtractor
from .detect import MathInfo, detect
from .extractor import Extraction, MathExtractor
from .score import MathScorer

__all__ = ["Extraction", "MathExtractor", "MathInfo", "MathScorer", "TrafilaturaExtractor", "detect"]
