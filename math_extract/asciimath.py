"""AsciiMath to TeX, for ``<script type="math/asciimath">`` and backtick-delimited formulas.

The converter follows AsciiMath's own grammar (asciimath.org, the rules ``ASCIIMathML.js`` implements), so the
TeX says what MathJax would have drawn, not a symbol-by-symbol guess::

    v = symbol | number | letter | "text"          c = constant symbol
    u = unary: sqrt, text, accents, fonts, abs...  b = binary: frac, root, stackrel, overset, underset, color
    l, r = ( [ { (: {: and ) ] } :) :}
    S = v | l E r | u S | b S S                    simple expression
    I = S_S | S^S | S_S^S | S                      intermediate expression
    E = I E | I/I E                                expression

The brackets around an argument of ``u``/``b``, a script or a fraction side are dropped (only ``( [ {``, as
AsciiMath drops them), so ``(a+b)/(c+d)`` is ``\\frac{a+b}{c+d}`` while ``(a+b)^2`` keeps its parentheses; a
bracket holding comma-separated rows of equal length is a matrix. Symbols are read longest first (``<=>``
before ``<=``, ``int`` before ``in``), and a run of letters that is no symbol is one letter per variable.

Every step is one pass: the tokens come from one regex scan, bracket pairs are matched with one stack, and the
parser reads each token once. Nesting deeper than :data:`MAX_NESTING` keeps the formula's tokens translated but
unstructured.
"""

from __future__ import annotations

import re

from .mathml import TEXT_ESCAPES

# --- the symbol table: one entry per AsciiMath input, its TeX, and its role in the grammar

CONST, UNARY, BINARY, FUNC, LEFT, RIGHT, BAR, TEXT = "const", "unary", "binary", "func", "left", "right", "bar", "text"
INFIX = "infix"  # the marks of the grammar itself: "/" of a fraction, "_" and "^" of scripts

_GREEK = (
    "alpha beta gamma Gamma delta Delta epsilon varepsilon zeta eta theta Theta vartheta iota kappa lambda Lambda "
    "mu nu xi Xi pi Pi rho sigma Sigma tau upsilon Upsilon phi Phi varphi chi psi Psi omega Omega"
).split()

SYMBOLS: dict[str, tuple[str, str]] = {name: (CONST, "\\" + name) for name in _GREEK}
SYMBOLS.update({"lamda": (CONST, r"\lambda"), "Lamda": (CONST, r"\Lambda")})
SYMBOLS.update(
    {
        inp: (CONST, tex)
        for inp, tex in {
            # operations
            "+": "+",
            "-": "-",
            "*": r"\cdot",
            "**": r"\ast",
            "***": r"\star",
            "//": "/",
            "\\\\": r"\backslash",
            "backslash": r"\backslash",
            "setminus": r"\setminus",
            "xx": r"\times",
            "|><": r"\ltimes",
            "><|": r"\rtimes",
            "|><|": r"\bowtie",
            "-:": r"\div",
            "divide": r"\div",
            "@": r"\circ",
            "o+": r"\oplus",
            "ox": r"\otimes",
            "o.": r"\odot",
            "sum": r"\sum",
            "prod": r"\prod",
            "^^": r"\wedge",
            "^^^": r"\bigwedge",
            "vv": r"\vee",
            "vvv": r"\bigvee",
            "nn": r"\cap",
            "nnn": r"\bigcap",
            "uu": r"\cup",
            "uuu": r"\bigcup",
            # relations
            "=": "=",
            "!=": r"\ne",
            ":=": ":=",
            "lt": "<",
            "gt": ">",
            "mlt": r"\ll",
            "mgt": r"\gg",
            "<=": r"\le",
            "lt=": r"\le",
            ">=": r"\ge",
            "gt=": r"\ge",
            "-<": r"\prec",
            "-lt": r"\prec",
            ">-": r"\succ",
            "-<=": r"\preceq",
            ">-=": r"\succeq",
            "in": r"\in",
            "!in": r"\notin",
            "notin": r"\notin",
            "sub": r"\subset",
            "sup": r"\supset",
            "sube": r"\subseteq",
            "supe": r"\supseteq",
            "!sub": r"\not\subset",
            "!sup": r"\not\supset",
            "!sube": r"\not\subseteq",
            "!supe": r"\not\supseteq",
            "-=": r"\equiv",
            "!-=": r"\not\equiv",
            "~=": r"\cong",
            "~~": r"\approx",
            "~": r"\sim",
            "prop": r"\propto",
            "mid": r"\mid",
            "|": "|",
            # logic
            "and": r"\text{ and }",
            "or": r"\text{ or }",
            "not": r"\neg",
            "=>": r"\Rightarrow",
            "implies": r"\Rightarrow",
            "if": r"\text{ if }",
            "<=>": r"\Leftrightarrow",
            "iff": r"\Leftrightarrow",
            "AA": r"\forall",
            "EE": r"\exists",
            "_|_": r"\bot",
            "TT": r"\top",
            "|--": r"\vdash",
            "|==": r"\models",
            # miscellaneous
            "int": r"\int",
            "oint": r"\oint",
            "del": r"\partial",
            "partial": r"\partial",
            "grad": r"\nabla",
            "nabla": r"\nabla",
            "+-": r"\pm",
            "-+": r"\mp",
            "O/": r"\emptyset",
            "oo": r"\infty",
            "aleph": r"\aleph",
            "...": r"\ldots",
            ":.": r"\therefore",
            ":'": r"\because",
            "/_": r"\angle",
            "/_\\": r"\triangle",
            "'": "'",
            "\\ ": r"\ ",
            "frown": r"\frown",
            "quad": r"\quad",
            "qquad": r"\qquad",
            "cdots": r"\cdots",
            "vdots": r"\vdots",
            "ddots": r"\ddots",
            "diamond": r"\diamond",
            "square": r"\square",
            "|__": r"\lfloor",
            "__|": r"\rfloor",
            "|~": r"\lceil",
            "~|": r"\rceil",
            "CC": r"\mathbb{C}",
            "NN": r"\mathbb{N}",
            "QQ": r"\mathbb{Q}",
            "RR": r"\mathbb{R}",
            "ZZ": r"\mathbb{Z}",
            "lim": r"\lim",
            "Lim": r"\operatorname{Lim}",
            "dim": r"\dim",
            "min": r"\min",
            "max": r"\max",
            # arrows
            "uarr": r"\uparrow",
            "uparrow": r"\uparrow",
            "darr": r"\downarrow",
            "downarrow": r"\downarrow",
            "rarr": r"\rightarrow",
            "rightarrow": r"\rightarrow",
            "->": r"\to",
            "to": r"\to",
            ">->": r"\rightarrowtail",
            "->>": r"\twoheadrightarrow",
            ">->>": r"\twoheadrightarrowtail",
            "|->": r"\mapsto",
            "mapsto": r"\mapsto",
            "larr": r"\leftarrow",
            "leftarrow": r"\leftarrow",
            "harr": r"\leftrightarrow",
            "leftrightarrow": r"\leftrightarrow",
            "rArr": r"\Rightarrow",
            "Rightarrow": r"\Rightarrow",
            "lArr": r"\Leftarrow",
            "Leftarrow": r"\Leftarrow",
            "hArr": r"\Leftrightarrow",
            "Leftrightarrow": r"\Leftrightarrow",
            # AsciiMath's definitions: "dy/dx" is a fraction of the two differentials
            "dx": "dx",
            "dy": "dy",
            "dz": "dz",
            "dt": "dt",
            # characters that TeX reads as markup; a lone "^" or "_" is drawn as itself
            "\\": r"\backslash",
            "$": r"\$",
            "%": r"\%",
            "#": r"\#",
            "&": r"\&",
        }.items()
    }
)
SYMBOLS.update({"o-": (CONST, r"\ominus"), "dag": (CONST, r"\dagger"), "ddag": (CONST, r"\ddagger")})
SYMBOLS.update({"uArr": (CONST, r"\Uparrow"), "dArr": (CONST, r"\Downarrow"), "hbar": (CONST, r"\hbar")})
# AsciiMath also reads the TeX names of its symbols (the longer ones: "ne" or "le" would split words like "one")
_TEX_NAMES = (
    "cdot times ltimes rtimes bowtie circ oplus otimes odot ominus wedge bigwedge bigvee bigcap bigcup leq geq "
    "prec succ preceq succeq subset supset subseteq supseteq equiv cong approx propto forall exists vdash models "
    "emptyset infty ldots therefore because angle triangle lfloor rfloor lceil rceil uparrow Uparrow downarrow "
    "Downarrow hookrightarrow hookleftarrow twoheadleftarrow rightleftharpoons leftrightharpoons Longrightarrow "
    "Longleftarrow longrightarrow longleftarrow dagger ddagger perp parallel nexists iint iiint"
).split()
SYMBOLS.update({name: (CONST, "\\" + name) for name in _TEX_NAMES if name not in SYMBOLS})
# functions: "sin x" is \sin applied to x; "sin^2 x" puts the script on \sin (AsciiMath's "functions hack")
SYMBOLS.update(
    {
        name: (FUNC, "\\" + name)
        for name in "sin cos tan sec csc cot arcsin arccos arctan sinh cosh tanh coth exp log ln det gcd".split()
    }
)
SYMBOLS.update({name: (FUNC, r"\operatorname{" + name + "}") for name in "sech csch lcm lub glb mod".split()})
SYMBOLS.update({"f": (FUNC, "f"), "g": (FUNC, "g")})
# unary: the TeX is a template for the argument
SYMBOLS.update(
    {
        inp: (UNARY, tex)
        for inp, tex in {
            "sqrt": r"\sqrt{%s}",
            "hat": r"\hat{%s}",
            "bar": r"\overline{%s}",
            "overline": r"\overline{%s}",
            "vec": r"\vec{%s}",
            "tilde": r"\tilde{%s}",
            "dot": r"\dot{%s}",
            "ddot": r"\ddot{%s}",
            "ul": r"\underline{%s}",
            "underline": r"\underline{%s}",
            "overarc": r"\overparen{%s}",
            "overparen": r"\overparen{%s}",
            "obrace": r"\overbrace{%s}",
            "overbrace": r"\overbrace{%s}",
            "ubrace": r"\underbrace{%s}",
            "underbrace": r"\underbrace{%s}",
            "cancel": r"\cancel{%s}",
            "abs": r"\left|%s\right|",
            "floor": r"\left\lfloor %s\right\rfloor",
            "ceil": r"\left\lceil %s\right\rceil",
            "norm": r"\left\|%s\right\|",
            "bb": r"\mathbf{%s}",
            "mathbf": r"\mathbf{%s}",
            "bbb": r"\mathbb{%s}",
            "mathbb": r"\mathbb{%s}",
            "cc": r"\mathcal{%s}",
            "mathcal": r"\mathcal{%s}",
            "tt": r"\mathtt{%s}",
            "mathtt": r"\mathtt{%s}",
            "fr": r"\mathfrak{%s}",
            "mathfrak": r"\mathfrak{%s}",
            "sf": r"\mathsf{%s}",
            "mathsf": r"\mathsf{%s}",
        }.items()
    }
)
# binary: two arguments; color's first is a name, not maths
SYMBOLS.update(
    {
        "frac": (BINARY, r"\frac{%s}{%s}"),
        "root": (BINARY, r"\sqrt[%s]{%s}"),
        "stackrel": (BINARY, r"\stackrel{%s}{%s}"),
        "overset": (BINARY, r"\overset{%s}{%s}"),
        "underset": (BINARY, r"\underset{%s}{%s}"),
        "color": (BINARY, r"{\color{%s}%s}"),
    }
)
SYMBOLS.update({"(": (LEFT, "("), "[": (LEFT, "["), "{": (LEFT, r"\{"), "(:": (LEFT, r"\langle")})
SYMBOLS.update({"<<": (LEFT, r"\langle"), "langle": (LEFT, r"\langle"), "{:": (LEFT, "")})
SYMBOLS.update({")": (RIGHT, ")"), "]": (RIGHT, "]"), "}": (RIGHT, r"\}"), ":)": (RIGHT, r"\rangle")})
SYMBOLS.update({">>": (RIGHT, r"\rangle"), "rangle": (RIGHT, r"\rangle"), ":}": (RIGHT, "")})
SYMBOLS["|"] = (BAR, "|")
SYMBOLS["||"] = (BAR, r"\|")

_DROPPABLE_OPEN, _DROPPABLE_CLOSE = ("(", "[", r"\{"), (")", "]", r"\}")


def _trie_pattern(words: list[str]) -> str:
    """A regex matching the longest of ``words`` at a position, as a trie: ``a(?:lpha|nd|leph)|...``.

    Why not ``alpha|and|...`` longest first: the regex engine tries every alternative in turn at each
    position, which made the 300 symbols the slowest part of reading a long formula."""
    heads: dict[str, list[str]] = {}
    for word in words:
        heads.setdefault(word[0], []).append(word[1:])
    branches = []
    for head in sorted(heads):
        rests = heads[head]
        longer = [r for r in rests if r]
        branch = re.escape(head)
        if longer:
            branch += "(?:" + _trie_pattern(longer) + ")" + ("?" if "" in rests else "")
        branches.append(branch)
    return "|".join(branches)


# One scan: text forms, then every symbol (longest first, so "<=>" beats "<=" and "int" beats "in"), numbers,
# and any other character on its own (a letter that starts no symbol is a one-letter variable).
_TOKEN = re.compile(
    r"(?P<text>(?:text|mbox)\s*\((?P<body>[^()]*)\))|\"(?P<quoted>[^\"]*)\"|(?P<num>\d*\.?\d+)|"
    r"(?P<sym>" + _trie_pattern(list(SYMBOLS)) + r")|(?P<space>\s+)|.",
    re.S,
)

#: Brackets (and chains of prefixes such as ``sqrt sqrt ...``) nested deeper than this are not given structure:
#: each level is a few stack frames. Real formulas nest a handful of levels.
MAX_NESTING = 32


class _TooDeep(Exception):
    pass


def _tokens(src: str) -> list[tuple[str, str]]:
    """``(role, tex)`` for each token of ``src``; a ``text``/quoted token carries its words already as TeX."""
    out: list[tuple[str, str]] = []
    for m in _TOKEN.finditer(src):
        if m.group("space"):
            continue
        if m.group("text") is not None or m.group("quoted") is not None:
            body = m.group("body") if m.group("text") is not None else m.group("quoted")
            out.append((TEXT, r"\text{" + body.translate(TEXT_ESCAPES) + "}"))
        elif m.group("num"):
            out.append((CONST, m.group("num")))
        elif m.group("sym"):
            out.append(SYMBOLS[m.group("sym")])
        elif m.group(0) in _INFIX_MARKS:
            out.append((INFIX, m.group(0)))
        else:
            out.append((CONST, m.group(0)))
    return out


_INFIX_MARKS = ("/", "_", "^")


def _pairs(tokens: list[tuple[str, str]]) -> dict[int, int]:
    """The closing token of each opening one, in one pass with a stack.

    A left bracket closes at the next right bracket of its level (any kind, as in AsciiMath) and one without a
    closer runs to the end; a ``|`` opens a group only when another ``|`` closes it at the same level."""
    pairs: dict[int, int] = {}
    stack: list[int] = []  # open left brackets
    bars: list[int | None] = [None]  # per level: the pending "|" waiting for its partner
    for k, (role, _) in enumerate(tokens):
        if role == LEFT:
            stack.append(k)
            bars.append(None)
        elif role == RIGHT and stack:
            pairs[stack.pop()] = k
            bars.pop()
        elif role == BAR:
            if bars[-1] is None:
                bars[-1] = k
            else:
                pairs[bars[-1]] = k
                bars[-1] = None
    return pairs


class _Node:
    """Parsed TeX and, for a bracketed group, its brackets, so that an argument can drop them."""

    __slots__ = ("tex", "bare")

    def __init__(self, tex: str, bare: str | None = None):
        self.tex = tex
        self.bare = tex if bare is None else bare  # AsciiMath's removeBrackets: without the group's ( [ {


def _group(open_: str, inner: str, close: str) -> _Node:
    """A bracketed group; as an argument it loses only round, square and curly brackets, each on its own."""
    fence_open = open_ + (" " if open_[-1:].isalpha() and inner[:1].isalpha() else "")
    fence_close = close  # a letter after "\\rangle" is spaced by _join
    bare = ("" if open_ in _DROPPABLE_OPEN else fence_open) + inner + ("" if close in _DROPPABLE_CLOSE else fence_close)
    return _Node(fence_open + inner + fence_close, bare)


def _join(pieces: list[str]) -> str:
    """Concatenate TeX pieces, with a space where a command (``\\alpha``) would run into a following letter."""
    out: list[str] = []
    for p in pieces:
        if out and p[:1].isalpha():
            prev = out[-1]
            k = len(prev)
            while k > 0 and prev[k - 1].isalpha() and len(prev) - k < 40:
                k -= 1
            if k < len(prev) and k > 0 and prev[k - 1] == "\\":
                out.append(" ")
        out.append(p)
    return "".join(out)


_MATRIX_ENV = {("(", ")"): "pmatrix", ("[", "]"): "bmatrix", (r"\{", r"\}"): "Bmatrix", ("|", "|"): "vmatrix"}
_MATRIX_ENV[("", "")] = "matrix"
_MATRIX_ENV[(r"\|", r"\|")] = "Vmatrix"


_ORPHANS = {"^": r"\hat{}", "_": r"\_"}


def _orphan(tex: str) -> str:
    """A token read on its own, outside the structure it needs: a command without its arguments, a script
    mark with nothing to attach to. Valid TeX either way, so that no ``$`` after it is escaped or swallowed."""
    return _ORPHANS.get(tex) or tex.replace("{%s}", "{}").replace("%s", "")


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.toks = tokens
        self.pairs = _pairs(tokens)
        self.depth = 0

    def expr(self, i: int, end: int) -> str:
        """E: intermediate expressions up to ``end``, ``I/I`` as fractions."""
        pieces: list[str] = []
        while i < end:
            node, i = self.inter(i, end)
            if i < end and self.toks[i] == (INFIX, "/") and i + 1 < end:
                den, i = self.inter(i + 1, end)
                pieces.append(r"\frac{" + node.bare + "}{" + den.bare + "}")
            else:
                pieces.append(node.tex)
        return _join(pieces)

    def inter(self, i: int, end: int) -> tuple[_Node, int]:
        """I: a simple expression with its subscript and superscript (their brackets dropped)."""
        node, i = self.simple(i, end)
        tex = node.tex
        scripted = False
        for mark in ("_", "^"):
            if i + 1 < end and self.toks[i] == (INFIX, mark):
                arg, i = self.simple(i + 1, end)
                tex += mark + "{" + arg.bare + "}"
                scripted = True
        return (_Node(tex) if scripted else node), i

    def simple(self, i: int, end: int) -> tuple[_Node, int]:
        """S: one symbol, a bracketed group, or a unary/binary command with its arguments."""
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise _TooDeep
        try:
            return self._simple(i, end)
        finally:
            self.depth -= 1

    def _simple(self, i: int, end: int) -> tuple[_Node, int]:
        role, tex = self.toks[i]
        if role in (LEFT, BAR) and i in self.pairs and self.pairs[i] < end or role == LEFT:
            close = self.pairs.get(i, end)
            close_tex = self.toks[close][1] if close < end else ""
            matrix = self.matrix(tex, close_tex, i + 1, close)
            if matrix:
                return _Node(matrix), min(close + 1, end)
            if role == BAR:
                return _Node(r"\left" + tex + self.expr(i + 1, close) + r"\right" + tex), min(close + 1, end)
            return _group(tex, self.expr(i + 1, close), close_tex), min(close + 1, end)
        if role == UNARY and i + 1 < end:
            arg, j = self.simple(i + 1, end)
            if tex.startswith(r"\math") and arg.tex.startswith(r"\text{") and self.toks[i + 1][0] == TEXT:
                return _Node(tex % arg.tex[6:-1]), j  # bb "AB": the letters in bold, not text in a bold box
            return _Node(tex % arg.bare), j
        if role == BINARY and i + 1 < end:
            first, j = self.simple(i + 1, end)
            second, j = (self.simple(j, end)) if j < end else (_Node(""), j)
            a = first.bare
            if tex.startswith(r"{\color"):
                a = "".join(ch for ch in a if ch.isalnum() or ch == "#")
            return _Node(tex % (a, second.bare)), j
        if role == FUNC and i + 1 < end:
            nxt_role, nxt = self.toks[i + 1]
            one_letter = tex in ("f", "g")
            if nxt_role in (INFIX, BAR) or nxt == "," or (one_letter and nxt_role != LEFT):
                return _Node(tex), i + 1
            arg, j = self.simple(i + 1, end)
            return _Node(_join([tex, arg.tex]) if not one_letter else tex + arg.tex), j
        return _Node(_orphan(tex)), i + 1

    def matrix(self, open_: str, close: str, i: int, end: int) -> str | None:
        """``[[a,b],[c,d]]``: two or more rows, each a ``(..)`` or ``[..]`` group, all with the same number of
        commas at their own level, separated by commas (AsciiMath's matrix rule); else None."""
        rows: list[tuple[int, int]] = []
        k = i
        while k < end:
            role, tex = self.toks[k]
            if role != LEFT or tex not in ("(", "[") or k not in self.pairs or self.pairs[k] >= end:
                return None
            rows.append((k + 1, self.pairs[k]))
            k = self.pairs[k] + 1
            if k < end:
                if self.toks[k] != (CONST, ","):
                    return None
                k += 1
                if k == end:
                    return None
        if len(rows) < 2:
            return None
        cells = [self.cells(a, b) for a, b in rows]
        if len({len(c) for c in cells}) != 1:
            return None
        # an augmented matrix: a column of "|" in every row is a rule between columns, not an entry
        bars = [{n for n, (a, b) in enumerate(row) if b == a + 1 and self.toks[a][0] == BAR} for row in cells]
        rule = bars[0] if all(b == bars[0] for b in bars) else set()
        body = r" \\ ".join(
            " & ".join(self.expr(a, b) for n, (a, b) in enumerate(row) if n not in rule) for row in cells
        )
        env = _MATRIX_ENV.get((open_, close))
        if rule:
            spec = "".join("|" if n in rule else "c" for n in range(len(cells[0])))
            return rf"\left{open_ or '.'}\begin{{array}}{{{spec}}}{body}\end{{array}}\right{close or '.'}"
        if env:
            return rf"\begin{{{env}}}{body}\end{{{env}}}"
        return rf"\left{open_ or '.'}\begin{{matrix}}{body}\end{{matrix}}\right{close or '.'}"

    def cells(self, i: int, end: int) -> list[tuple[int, int]]:
        """The spans between the commas of one row that are not inside a bracket."""
        out, start, k = [], i, i
        while k < end:
            if k in self.pairs:
                k = self.pairs[k] + 1
                continue
            if self.toks[k] == (CONST, ","):
                out.append((start, k))
                start = k + 1
            k += 1
        out.append((start, end))
        return out


def asciimath_to_tex(src: str) -> str:
    """Translate an AsciiMath formula to TeX that means what AsciiMath renders (unknown characters pass through).

    A formula nested deeper than :data:`MAX_NESTING` (brackets or chains of prefixes) keeps its tokens as they
    are, each translated but not restructured."""
    tokens = _tokens(src.strip())
    try:
        return _Parser(tokens).expr(0, len(tokens)).strip()
    except _TooDeep:
        return " ".join(_orphan(tex) for _, tex in tokens)
