"""Maths-preserving HTML extraction: every maths format to TeX, boilerplate removed, lynx layout.

Public API: ``detect``, ``MathInfo``, ``decode_html``, ``MathExtractor``, ``Extraction``, ``ExtractError``.
Imports are light (no lxml until a page is extracted).
"""
from .decode import decode_html
from .detect import MathInfo, detect
from .errors import DecodeError, ExtractError
from .extractor import Extraction, MathExtractor

__all__ = ["detect", "MathInfo", "decode_html", "MathExtractor", "Extraction", "ExtractError", "DecodeError"]
