"""AsciiMath to TeX, for ``<script type="math/asciimath">`` and backtick-delimited formulas.

AsciiMath is mostly TeX without backslashes: we map its named symbols to TeX commands and rewrite its
one structural difference, ``a/b`` fractions over bracketed or simple operands, into ``\\frac{a}{b}``.
Brackets around script and fraction operands are dropped as AsciiMath itself does when rendering.
"""

from __future__ import annotations

import re

_NAMES = {
    "alpha",
    "beta",
    "gamma",
    "Gamma",
    "delta",
    "Delta",
    "epsilon",
    "varepsilon",
    "zeta",
    "eta",
    "theta",
    "Theta",
    "vartheta",
    "iota",
    "kappa",
    "lambda",
    "Lambda",
    "mu",
    "nu",
    "xi",
    "Xi",
    "pi",
    "Pi",
    "rho",
    "sigma",
    "Sigma",
    "tau",
    "upsilon",
    "phi",
    "Phi",
    "varphi",
    "chi",
    "psi",
    "Psi",
    "omega",
    "Omega",
    "sum",
    "prod",
    "int",
    "oint",
    "sqrt",
    "lim",
    "sin",
    "cos",
    "tan",
    "log",
    "ln",
    "exp",
    "det",
    "max",
    "min",
    "partial",
    "nabla",
    "forall",
    "exists",
    "cdot",
    "cdots",
    "ldots",
    "vdots",
    "ddots",
    "sinh",
    "cosh",
    "tanh",
    "sec",
    "csc",
    "cot",
    "hat",
    "bar",
    "vec",
    "dot",
    "ddot",
    "tilde",
    "overline",
    "underline",
    "emptyset",
    "angle",
    "frac",
    "text",
    "mathbf",
    "mathbb",
    "mathcal",
    "neg",
    "in",
}
_OPERATORS = [  # longest first so that "<=>" wins over "<="
    ("<=>", r"\Leftrightarrow"),
    ("|->", r"\mapsto"),
    ("==>", r"\Rightarrow"),
    ("=>", r"\Rightarrow"),
    ("->", r"\to"),
    ("<=", r"\le"),
    (">=", r"\ge"),
    ("!=", r"\ne"),
    ("+-", r"\pm"),
    ("-+", r"\mp"),
    ("***", r"\star"),
    ("**", r"\ast"),
    ("xx", r"\times"),
    ("-:", r"\div"),
    ("o+", r"\oplus"),
    ("ox", r"\otimes"),
    ("oo", r"\infty"),
    ("~~", r"\approx"),
    ("-=", r"\equiv"),
    ("~=", r"\cong"),
    ("sub", r"\subset"),
    ("sube", r"\subseteq"),
    ("uu", r"\cup"),
    ("nn", r"\cap"),
    ("AA", r"\forall"),
    ("EE", r"\exists"),
    ("RR", r"\mathbb{R}"),
    ("NN", r"\mathbb{N}"),
    ("ZZ", r"\mathbb{Z}"),
    ("QQ", r"\mathbb{Q}"),
    ("CC", r"\mathbb{C}"),
    ("del", r"\partial"),
    ("grad", r"\nabla"),
    ("notin", r"\notin"),
    ("and", r"\text{ and }"),
    ("or", r"\text{ or }"),
    ("if", r"\text{ if }"),
    ("...", r"\ldots"),
    ("(:", r"\langle"),
    (":)", r"\rangle"),
]
_WORD_OPS = {k: v for k, v in _OPERATORS if k.isalpha()}
_SYM_OPS = dict(sorted(((k, v) for k, v in _OPERATORS if not k.isalpha()), key=lambda kv: -len(kv[0])))
# symbol operators first, longest first, then the other tokens: one regex scan (a loop of startswith tests over
# the operators at every character was the slowest part of a long formula)
_TOKEN = re.compile(
    "(" + "|".join(re.escape(op) for op in _SYM_OPS) + r")|\s+|[A-Za-z]+|\d+(?:\.\d+)?|\"[^\"]*\"|.", re.S
)
_OPEN, _CLOSE = "([{", ")]}"


def _tokens(src: str) -> list[str]:
    out: list[str] = []
    for m in _TOKEN.finditer(src):
        tok = m.group(0)
        if m.group(1):
            out.append(_SYM_OPS[tok])
            continue
        if tok.isspace():
            continue
        if tok.isalpha():
            if tok in _WORD_OPS:
                tok = _WORD_OPS[tok]
            elif tok in _NAMES:
                tok = "\\" + tok
        elif tok.startswith('"'):
            tok = r"\text{" + tok[1:-1] + "}"
        out.append(tok)
    return out


_MATRICES = {"(": "pmatrix", "[": "bmatrix", "{": "Bmatrix"}


def _split_top(tokens: list[str], sep: str = ",") -> list[list[str]]:
    """Split a token list at separators that are outside brackets."""
    parts: list[list[str]] = [[]]
    depth = 0
    for tok in tokens:
        if tok in _OPEN:
            depth += 1
        elif tok in _CLOSE:
            depth -= 1
        if tok == sep and depth == 0:
            parts.append([])
        else:
            parts[-1].append(tok)
    return parts


def _one_group(tokens: list[str]) -> bool:
    """Whether ``tokens`` is a single bracketed group: its first bracket closes at its last token."""
    depth = 0
    for k, tok in enumerate(tokens):
        if tok in _OPEN:
            depth += 1
        elif tok in _CLOSE:
            depth -= 1
            if depth == 0:
                return k == len(tokens) - 1
    return False


def _matrix(bracket: str, inner: list[str]) -> str | None:
    """``[[a,b],[c,d]]`` / ``((a,b),(c,d))``: two or more bracketed rows with the same number of entries
    (AsciiMath's matrix rule) become a TeX matrix; anything else is not a matrix (None)."""
    rows = _split_top(inner)
    if len(rows) < 2 or not all(r and r[0] in _OPEN and _one_group(r) for r in rows):
        return None
    cells = [_split_top(r[1:-1]) for r in rows]
    if len({len(c) for c in cells}) != 1:
        return None
    env = _MATRICES.get(bracket, "matrix")
    body = r" \\ ".join(" & ".join(_expr(cell) for cell in row) for row in cells)
    return rf"\begin{{{env}}}" + body + rf"\end{{{env}}}"


def _simple(tokens: list[str], i: int) -> tuple[str, int, bool]:
    """Read one operand starting at ``i``; returns (tex, next index, was it bracketed)."""
    if i >= len(tokens):
        return "", i, False
    tok = tokens[i]
    if tok in _OPEN:
        depth, j = 0, i
        while j < len(tokens):
            if tokens[j] in _OPEN:
                depth += 1
            elif tokens[j] in _CLOSE:
                depth -= 1
                if depth == 0:
                    break
            j += 1
        matrix = _matrix(tok, tokens[i + 1 : j])
        if matrix:
            return matrix, j + 1, False
        inner = _expr(tokens[i + 1 : j])
        return inner, j + 1, True
    if tok in (
        r"\sqrt",
        r"\hat",
        r"\bar",
        r"\vec",
        r"\dot",
        r"\ddot",
        r"\tilde",
        r"\overline",
        r"\underline",
        r"\mathbf",
        r"\mathbb",
        r"\mathcal",
        r"\text",
    ):
        arg, j, _ = _simple(tokens, i + 1)
        return tok + "{" + arg + "}", j, False
    if tok == r"\frac":
        a, j, _ = _simple(tokens, i + 1)
        b, j, _ = _simple(tokens, j)
        return r"\frac{" + a + "}{" + b + "}", j, False
    return tok, i + 1, False


def _expr(tokens: list[str]) -> str:
    parts: list[str] = []
    i = 0
    while i < len(tokens):
        tex, i, bracketed = _simple(tokens, i)
        if tex == "" and i < len(tokens) and tokens[i - 1] in _CLOSE:
            continue
        while i < len(tokens) and tokens[i] in ("^", "_"):
            op = tokens[i]
            arg, i, _ = _simple(tokens, i + 1)
            tex = (tex if not bracketed else "(" + tex + ")") + op + "{" + arg + "}"
            bracketed = False
        if i < len(tokens) and tokens[i] == "/":
            den, i, _ = _simple(tokens, i + 1)
            tex = r"\frac{" + tex + "}{" + den + "}"
        elif bracketed:
            tex = "(" + tex + ")"
        parts.append(tex)
    out = ""
    for p in parts:
        if out and out[-1].isalpha() and p[:1].isalpha():
            out += " "
        out += p
    return out


#: Brackets nested deeper than this are not given structure: each level rescans and copies the tokens inside
#: it, so the work grows with the depth times the length (quadratic for a formula of only "("), and each level
#: takes a few stack frames. Real formulas nest a handful of levels.
MAX_NESTING = 32


def _nesting(tokens: list[str]) -> int:
    depth = deepest = 0
    for tok in tokens:
        if tok in _OPEN:
            depth += 1
            deepest = max(deepest, depth)
        elif tok in _CLOSE:
            depth -= 1
    return deepest


def asciimath_to_tex(src: str) -> str:
    """Translate an AsciiMath formula to TeX (best effort; unknown tokens pass through).

    A formula nested deeper than :data:`MAX_NESTING`, or whose chain of prefixes (``sqrt sqrt ...``) is too
    long for the stack, keeps its tokens as they are, translated symbol by symbol but not restructured."""
    tokens = _tokens(src.strip())
    if _nesting(tokens) <= MAX_NESTING:
        try:
            return _expr(tokens)
        except RecursionError:
            pass
    return " ".join(tokens)
