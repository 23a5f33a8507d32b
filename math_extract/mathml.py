"""Presentation MathML to LaTeX, for pages whose MathML carries no TeX annotation or alttext.

MathJax 3's assistive MathML and hand-written MathML have no TeX source, so we rebuild it from the
structure: fractions, scripts, roots, operators, tables and matrices, fences and accents.  The output aims to
be valid, readable TeX, not to reproduce the author's exact source.  Recursion is bounded; beyond the bound
the element's text is used, so hostile nesting cannot blow the stack.
"""

from __future__ import annotations

import re

_MAX_DEPTH = 120
_SPACE_AFTER_COMMAND = re.compile(r"(\\[A-Za-z]+) (?=[^A-Za-z0-9\\])")  # "\sum _i" -> "\sum_i"; "\sin x" kept

# Unicode characters MathML puts in <mo>/<mi> and their TeX names.
SYMBOLS = {
    "α": r"\alpha",
    "β": r"\beta",
    "γ": r"\gamma",
    "δ": r"\delta",
    "ε": r"\varepsilon",  # MathJax draws \varepsilon as U+03B5 and \epsilon as U+03F5; \phi and \varphi likewise
    "ϵ": r"\epsilon",
    "ζ": r"\zeta",
    "η": r"\eta",
    "θ": r"\theta",
    "ϑ": r"\vartheta",
    "ι": r"\iota",
    "κ": r"\kappa",
    "λ": r"\lambda",
    "μ": r"\mu",
    "ν": r"\nu",
    "ξ": r"\xi",
    "π": r"\pi",
    "ϖ": r"\varpi",
    "ρ": r"\rho",
    "ϱ": r"\varrho",
    "σ": r"\sigma",
    "ς": r"\varsigma",
    "τ": r"\tau",
    "υ": r"\upsilon",
    "φ": r"\varphi",
    "ϕ": r"\phi",
    "χ": r"\chi",
    "ψ": r"\psi",
    "ω": r"\omega",
    "Γ": r"\Gamma",
    "Δ": r"\Delta",
    "Θ": r"\Theta",
    "Λ": r"\Lambda",
    "Ξ": r"\Xi",
    "Π": r"\Pi",
    "Σ": r"\Sigma",
    "Υ": r"\Upsilon",
    "Φ": r"\Phi",
    "Ψ": r"\Psi",
    "Ω": r"\Omega",
    "∑": r"\sum",
    "∏": r"\prod",
    "∐": r"\coprod",
    "∫": r"\int",
    "∬": r"\iint",
    "∭": r"\iiint",
    "∮": r"\oint",
    "∞": r"\infty",
    "∂": r"\partial",
    "∇": r"\nabla",
    "±": r"\pm",
    "∓": r"\mp",
    "×": r"\times",
    "÷": r"\div",
    "⋅": r"\cdot",
    "·": r"\cdot",
    "∘": r"\circ",
    "∗": r"\ast",
    "≤": r"\leq",
    "≥": r"\geq",
    "≠": r"\neq",
    "≈": r"\approx",
    "≡": r"\equiv",
    "∼": r"\sim",
    "≃": r"\simeq",
    "≅": r"\cong",
    "∝": r"\propto",
    "≪": r"\ll",
    "≫": r"\gg",
    "∈": r"\in",
    "∉": r"\notin",
    "∋": r"\ni",
    "⊂": r"\subset",
    "⊃": r"\supset",
    "⊆": r"\subseteq",
    "⊇": r"\supseteq",
    "∪": r"\cup",
    "∩": r"\cap",
    "∅": r"\emptyset",
    "∀": r"\forall",
    "∃": r"\exists",
    "¬": r"\neg",
    "∧": r"\wedge",
    "∨": r"\vee",
    "⊕": r"\oplus",
    "⊗": r"\otimes",
    "→": r"\to",
    "←": r"\leftarrow",
    "↔": r"\leftrightarrow",
    "⇒": r"\Rightarrow",
    "⇐": r"\Leftarrow",
    "⇔": r"\Leftrightarrow",
    "↦": r"\mapsto",
    "⟶": r"\longrightarrow",
    "⟵": r"\longleftarrow",
    "⟹": r"\Longrightarrow",
    "⟸": r"\Longleftarrow",
    "⟺": r"\Longleftrightarrow",
    "↑": r"\uparrow",
    "↓": r"\downarrow",
    "⇑": r"\Uparrow",
    "⇓": r"\Downarrow",
    "↪": r"\hookrightarrow",
    "↩": r"\hookleftarrow",
    "↠": r"\twoheadrightarrow",
    "↣": r"\rightarrowtail",
    "⇌": r"\rightleftharpoons",
    "⇀": r"\rightharpoonup",
    "∤": r"\nmid",
    "∥": r"\parallel",
    "∦": r"\nparallel",
    "⊊": r"\subsetneq",
    "⊋": r"\supsetneq",
    "⊄": r"\not\subset",
    "⊈": r"\nsubseteq",
    "⊉": r"\nsupseteq",
    "∄": r"\nexists",
    "⊤": r"\top",
    "⊨": r"\models",
    "⊣": r"\dashv",
    "ℵ": r"\aleph",
    "℘": r"\wp",
    "ℜ": r"\Re",
    "ℑ": r"\Im",
    "∎": r"\blacksquare",
    "□": r"\square",
    "△": r"\triangle",
    "▽": r"\triangledown",
    "◇": r"\diamond",
    "⊖": r"\ominus",
    "⊙": r"\odot",
    "⊘": r"\oslash",
    "⋂": r"\bigcap",
    "⋃": r"\bigcup",
    "⋀": r"\bigwedge",
    "⋁": r"\bigvee",
    "⨁": r"\bigoplus",
    "⨂": r"\bigotimes",
    "⨀": r"\bigodot",
    "⊎": r"\uplus",
    "⊔": r"\sqcup",
    "⊓": r"\sqcap",
    "∴": r"\therefore",
    "∵": r"\because",
    "≔": ":=",
    "≐": r"\doteq",
    "≜": r"\triangleq",
    "≲": r"\lesssim",
    "≳": r"\gtrsim",
    "≮": r"\nless",
    "≯": r"\ngtr",
    "≰": r"\nleq",
    "≱": r"\ngeq",
    "≉": r"\not\approx",
    "≢": r"\not\equiv",
    "≁": r"\nsim",
    "⪯": r"\preceq",
    "⪰": r"\succeq",
    "≼": r"\preccurlyeq",
    "≽": r"\succcurlyeq",
    "⊲": r"\triangleleft",
    "⊳": r"\triangleright",
    "⊴": r"\trianglelefteq",
    "⊵": r"\trianglerighteq",
    "⋉": r"\ltimes",
    "⋊": r"\rtimes",
    "⋈": r"\bowtie",
    "∔": r"\dotplus",
    "≀": r"\wr",
    "∡": r"\measuredangle",
    "ð": r"\eth",
    "ı": r"\imath",
    "ȷ": r"\jmath",
    "ħ": r"\hbar",
    "‡": r"\ddagger",
    "⨯": r"\times",
    "∙": r"\bullet",
    "•": r"\bullet",
    "∕": "/",
    "∶": ":",
    "…": r"\ldots",
    "⋯": r"\cdots",
    "⋮": r"\vdots",
    "⋱": r"\ddots",
    "′": "'",
    "″": "''",
    "ℝ": r"\mathbb{R}",
    "ℕ": r"\mathbb{N}",
    "ℤ": r"\mathbb{Z}",
    "ℚ": r"\mathbb{Q}",
    "ℂ": r"\mathbb{C}",
    "ℓ": r"\ell",
    "ℏ": r"\hbar",
    "√": r"\surd",
    "⟨": r"\langle",
    "⟩": r"\rangle",
    "〈": r"\langle",
    "〉": r"\rangle",
    "‖": r"\|",
    "∣": r"\mid",
    "⌊": r"\lfloor",
    "⌋": r"\rfloor",
    "⌈": r"\lceil",
    "⌉": r"\rceil",
    "−": "-",
    "⁡": "",
    "⁢": "",
    "⁣": ",",
    "⁤": "+",
    "\u00a0": " ",
    "∖": r"\setminus",
    "⊥": r"\perp",
    "∠": r"\angle",
    "°": r"^\circ",
    "†": r"\dagger",
    "⋆": r"\star",
    "≺": r"\prec",
    "≻": r"\succ",
    "⊢": r"\vdash",
    "{": r"\{",
    "}": r"\}",
    "%": r"\%",
    "#": r"\#",
    "&": r"\&",
}
_BIG_OPS = {
    r"\sum",
    r"\prod",
    r"\coprod",
    r"\int",
    r"\iint",
    r"\iiint",
    r"\oint",
    r"\lim",
    r"\max",
    r"\min",
    r"\sup",
    r"\inf",
    r"\bigcup",
    r"\bigcap",
}
_FUNCTIONS = {
    "sin",
    "cos",
    "tan",
    "cot",
    "sec",
    "csc",
    "log",
    "ln",
    "exp",
    "lim",
    "max",
    "min",
    "sup",
    "inf",
    "det",
    "dim",
    "ker",
    "arg",
    "deg",
    "gcd",
    "sinh",
    "cosh",
    "tanh",
    "arcsin",
    "arccos",
    "arctan",
    "Pr",
    "lg",
}
# Marks that <mover> puts over its base (MathJax's spelling of \hat, \bar, \overline...) and their TeX accents.
_OVER_ACCENTS = {
    "^": r"\hat",
    "ˆ": r"\hat",
    "̂": r"\hat",
    "~": r"\tilde",
    "˜": r"\tilde",
    "̃": r"\tilde",
    "¯": r"\bar",
    "ˉ": r"\bar",
    "̄": r"\bar",
    "‾": r"\overline",
    "―": r"\overline",
    "─": r"\overline",
    "→": r"\vec",
    "⃗": r"\vec",
    "⟶": r"\overrightarrow",
    "←": r"\overleftarrow",
    "↔": r"\overleftrightarrow",
    "˙": r"\dot",
    "̇": r"\dot",
    ".": r"\dot",
    "¨": r"\ddot",
    "̈": r"\ddot",
    "..": r"\ddot",
    "˘": r"\breve",
    "ˇ": r"\check",
    "´": r"\acute",
    "ˊ": r"\acute",
    "`": r"\grave",
    "ˋ": r"\grave",
    "˚": r"\mathring",
    "⏞": r"\overbrace",
    "⌢": r"\overparen",
    "⏜": r"\overparen",
}
# ...and under it with <munder>
_UNDER_ACCENTS = {
    "_": r"\underline",
    "̲": r"\underline",
    "―": r"\underline",
    "‾": r"\underline",
    "¯": r"\underline",
    "─": r"\underline",
    "⏟": r"\underbrace",
    "←": r"\underleftarrow",
    "→": r"\underrightarrow",
    "↔": r"\underleftrightarrow",
}
_CONTENT_MATHML = {"apply", "ci", "cn", "csymbol", "bind", "cs", "cerror", "share", "semantics"}
# a matrix in these fences is the matching amsmath environment; "{" with no closer is a case split
_MATRIX_FENCES = {
    ("(", ")"): "pmatrix",
    ("[", "]"): "bmatrix",
    ("{", "}"): "Bmatrix",
    ("|", "|"): "vmatrix",
    ("‖", "‖"): "Vmatrix",
    ("∥", "∥"): "Vmatrix",
    ("{", ""): "cases",
}
# TeX's special characters inside \text{}: escaped so that the text stays text and the formula its ``$..$``
TEXT_ESCAPES = str.maketrans(
    {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "%": r"\%", "#": r"\#", "&": r"\&", "_": r"\_"}
)
_VARIANTS = {
    "bold": r"\mathbf",
    "double-struck": r"\mathbb",
    "script": r"\mathcal",
    "fraktur": r"\mathfrak",
    "sans-serif": r"\mathsf",
    "monospace": r"\mathtt",
    "italic": "",
    "bold-italic": r"\boldsymbol",
}
# menclose notations and the TeX that draws each (amsmath + cancel); unknown notations draw nothing.
_ENCLOSURES = {
    "box": r"\boxed{{{}}}",
    "roundedbox": r"\boxed{{{}}}",
    "circle": r"\bigcirc{{{}}}",
    "updiagonalstrike": r"\cancel{{{}}}",
    "downdiagonalstrike": r"\bcancel{{{}}}",
    "horizontalstrike": r"\sout{{{}}}",
    "top": r"\overline{{{}}}",
    "bottom": r"\underline{{{}}}",
    "radical": r"\sqrt{{{}}}",
    "longdiv": r"\overline{{){}}}",
    "actuarial": r"\overline{{{}|}}",
    "left": r"|{}",
    "right": r"{}|",
    "madruwb": r"{}|",
}
_FENCES = {
    "(": "(",
    ")": ")",
    "[": "[",
    "]": "]",
    "{": r"\{",
    "}": r"\}",
    "|": "|",
    "‖": r"\|",
    "⟨": r"\langle",
    "⟩": r"\rangle",
    "⌊": r"\lfloor",
    "⌋": r"\rfloor",
    "⌈": r"\lceil",
    "⌉": r"\rceil",
    "": ".",
}


def _local(tag) -> str:
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1].split(":")[-1].lower()


def _chars(text: str) -> str:
    out = []
    for ch in text:
        sym = SYMBOLS.get(ch)
        if sym is None:
            out.append(ch)
        else:
            out.append(sym + (" " if sym[-1:].isalpha() else ""))
    return "".join(out).strip() if len(out) > 1 else "".join(out)


def _group(tex: str) -> str:
    tex = tex.strip()
    if len(tex) == 1 or (tex.startswith("\\") and tex[1:].isalpha()):
        return tex
    return "{" + tex + "}"


class _Converter:
    def __init__(self) -> None:
        self.depth = 0

    def children(self, el) -> list:
        return [c for c in el if isinstance(c.tag, str) and _local(c.tag) not in ("annotation", "annotation-xml")]

    def row(self, el) -> str:
        kids = self.children(el)
        if len(kids) == 3:
            open_, close = self.fence_mark(kids[0]), self.fence_mark(kids[2])
            fenced = self.fenced(open_, kids[1], close) if open_ is not None and close is not None else None
            if fenced is not None:
                return fenced
        parts = [self.conv(c) for c in kids]
        out = ""
        for p in parts:
            # a command just written ("\alpha") must not run into a letter that follows; only the last 8
            # characters are looked at, so a row of many letters stays linear
            if out and p and out[-1].isalpha() and p[0].isalpha() and "\\" in out[-8:]:
                if out.rsplit("\\", 1)[-1].isalpha():
                    out += " "
            out += p
        return out

    def fence_mark(self, el) -> str | None:
        """The text of an ``mo``, also when MathJax wraps it in rows (``\\bigl(`` is an OPEN ``mrow``); else None."""
        for _ in range(3):
            if _local(el.tag) == "mo":
                return "".join(el.itertext()).strip()
            kids = self.children(el)
            if _local(el.tag) != "mrow" or len(kids) != 1:
                return None
            el = kids[0]
        return None

    def fenced(self, open_: str, el, close: str) -> str | None:
        """A table or a line-less fraction between two fences, written as one TeX construct: ``( mtable )`` is a
        ``pmatrix``, ``{ mtable`` a ``cases``, ``( a over b )`` a ``\\binom``; None for anything else."""
        name = _local(el.tag)
        while name == "mrow" and len(self.children(el)) == 1:  # MathJax wraps the table in an mrow at times
            el = self.children(el)[0]
            name = _local(el.tag)
        if name == "mtable" and (open_, close) in _MATRIX_FENCES:
            return self.table(self.children(el), _MATRIX_FENCES[(open_, close)])
        if name == "mfrac" and _no_line(el) and (open_, close) == ("(", ")") and len(self.children(el)) == 2:
            a, b = self.children(el)
            return r"\binom{" + self.conv(a) + "}{" + self.conv(b) + "}"
        return None

    def conv(self, el) -> str:
        if self.depth > _MAX_DEPTH:
            return _chars(" ".join(el.itertext()))
        self.depth += 1
        try:
            return self._conv(el)
        finally:
            self.depth -= 1

    def _conv(self, el) -> str:
        name = _local(el.tag)
        kids = self.children(el)
        text = (el.text or "").strip()
        if name == "menclose":
            return self.enclose(el)
        if name in ("mstack", "mlongdiv"):
            return self.stack(kids, name == "mlongdiv")
        if name in ("math", "mrow", "mstyle", "mpadded", "mphantom", "merror", "semantics", "msrow", "msgroup"):
            if name == "semantics" and kids:
                return self.semantics(el, kids)
            return self.row(el)
        if name == "mi":
            variant = el.get("mathvariant", "")
            if len(text) > 1 and text in _FUNCTIONS:
                return "\\" + text + " "
            if len(text) > 1 and variant in ("", "normal") and text.isalpha() and text.isascii():
                return (
                    r"\operatorname{" + text + "}" if el.get("data-mjx-texclass") == "OP" else r"\mathrm{" + text + "}"
                )
            body = _chars(text)
            if len(text) > 1 and not variant and not body.startswith("\\"):
                body = r"\mathrm{" + body + "}"
            cmd = _VARIANTS.get(variant, "")
            return f"{cmd}{{{body}}}" if cmd else body
        if name == "mn":
            return _chars(text)
        if name == "mo":
            if text in _FUNCTIONS:
                return "\\" + text + " "
            return _chars(text)
        if name == "mtext":
            words = "".join(el.itertext()).replace("\u00a0", " ")
            return r"\text{" + words.translate(TEXT_ESCAPES) + "}" if words.strip() else (r"\ " if words else "")
        if name == "ms":
            return r'\text{"' + text + '"}'
        if name == "mspace":
            return _space(el.get("width", ""))
        if name == "mfrac":
            a, b = (self.conv(kids[0]), self.conv(kids[1])) if len(kids) >= 2 else (self.row(el), "")
            if _no_line(el):  # a stack without a rule; in parentheses it is a \binom (see fenced)
                return r"\genfrac{}{}{0pt}{}{" + a + "}{" + b + "}"
            return r"\frac{" + a + "}{" + b + "}"
        if name == "msqrt":
            return r"\sqrt{" + self.row(el) + "}"
        if name == "mroot" and len(kids) >= 2:
            return r"\sqrt[" + self.conv(kids[1]) + "]{" + self.conv(kids[0]) + "}"
        if name in ("msub", "msup", "msubsup", "munder", "mover", "munderover") and kids:
            return self.scripts(name, kids)
        if name == "mmultiscripts" and kids:
            return self.multiscripts(kids)
        if name == "mfenced":
            open_, close = el.get("open", "("), el.get("close", ")")
            seps = el.get("separators", ",").strip() or ","
            if len(kids) == 1:
                fenced = self.fenced(open_, kids[0], close)
                if fenced is not None:
                    return fenced
            inner = (seps[0]).join(self.conv(k) for k in kids)
            return r"\left" + _FENCES.get(open_, open_) + " " + inner + r" \right" + _FENCES.get(close, close)
        if name == "mtable":
            return self.table(kids, _table_env(el, kids, self.children))
        if name == "mtr":
            return " & ".join(self.conv(k) for k in kids)
        if name == "mlabeledtr":  # its first cell is the equation's label, not part of the formula
            return " & ".join(self.conv(k) for k in kids[1:])
        if name == "mtd":
            return self.row(el)
        if name == "maction" and kids:
            return self.conv(kids[0])
        if name in ("annotation", "annotation-xml", "none", "mprescripts"):
            return ""
        return self.row(el) if kids else _chars(text)

    def scripts(self, name: str, kids: list) -> str:
        base_el = kids[0]
        base = self.conv(base_el)
        rest = [self.conv(k) for k in kids[1:3]]
        if name in ("mover", "munder") and rest:
            mark = "".join(kids[1].itertext()).strip()
            accents = _OVER_ACCENTS if name == "mover" else _UNDER_ACCENTS
            if _local(kids[1].tag) == "mo" and mark in accents:
                return accents[mark] + "{" + base + "}"
        sub = sup = None
        if name in ("msub", "munder"):
            sub = rest[0] if rest else None
        elif name in ("msup", "mover"):
            sup = rest[0] if rest else None
        else:
            sub, sup = (rest + [None, None])[:2]
        if (
            name in ("munder", "mover", "munderover")
            and base.strip() not in _BIG_OPS
            and not base.strip().startswith("\\lim")
        ):
            if name == "munder" and sub is not None:
                return r"\underset{" + sub + "}{" + base + "}"
            if name == "mover" and sup is not None:
                return r"\overset{" + sup + "}{" + base + "}"
        if (
            len(base.strip()) > 1
            and not base.strip().startswith("\\")
            and _local(base_el.tag) not in ("mi", "mn", "mo")
        ):
            base = "{" + base + "}"
        out = base
        if sub:
            out += "_" + _group(sub)
        if sup:
            out += "^" + _group(sup)
        return out

    def multiscripts(self, kids: list) -> str:
        base = self.conv(kids[0])
        post: list[str] = []
        pre: list[str] = []
        cur = post
        for k in kids[1:]:
            if _local(k.tag) == "mprescripts":
                cur = pre
                continue
            cur.append(self.conv(k))

        def attach(pairs):
            s = ""
            for i in range(0, len(pairs) - 1, 2):
                if pairs[i]:
                    s += "_" + _group(pairs[i])
                if pairs[i + 1]:
                    s += "^" + _group(pairs[i + 1])
            return s

        return ("{}" + attach(pre) if pre else "") + base + attach(post)

    def enclose(self, el) -> str:
        """``menclose``: its notations (space-separated, innermost first) as the TeX that draws them."""
        inner = self.row(el)
        notations = (el.get("notation") or "longdiv").split()
        strikes = {"updiagonalstrike", "downdiagonalstrike"}
        if strikes <= set(notations):
            inner = r"\xcancel{" + inner + "}"
        for notation in notations:
            wrap = _ENCLOSURES.get(notation)
            if wrap and not (notation in strikes and strikes <= set(notations)):
                inner = wrap.format(inner)
        return inner

    def stack(self, kids, longdiv: bool) -> str:
        """Elementary-school layouts (``mstack``, ``mlongdiv``) as a right-aligned array, one row per line.

        ``mlongdiv``'s first two children are the divisor and the result; the dividend is the first row after."""
        rows: list[str] = []
        lead = kids[2:] if longdiv else kids
        for k in lead:
            name = _local(k.tag)
            if name == "msline":
                rows.append(r"\hline")
            elif name != "mscarries":
                rows.append(self.conv(k))
        if longdiv and len(kids) >= 2:
            divisor, result = self.conv(kids[0]), self.conv(kids[1])
            first = rows[0] if rows else ""
            rows = [result, divisor + r"\,\overline{)\," + first + "}"] + rows[1:]
        body = r" \\ ".join(r for r in rows)
        return r"\begin{array}{r}" + body.replace(r"\\ \hline \\", r"\\ \hline") + r"\end{array}"

    def semantics(self, el, kids: list) -> str:
        """A ``semantics``: its TeX annotation, else its presentation: the first child, unless that is content
        MathML and an ``annotation-xml`` holds the presentation."""
        tex = _own_tex(el)
        if tex:
            return "{" + tex + "}"
        if _local(kids[0].tag) in _CONTENT_MATHML:
            for ann in el:
                if _local(ann.tag) == "annotation-xml" and "presentation" in (ann.get("encoding") or "").lower():
                    return self.row(ann)
        return self.conv(kids[0])

    def table(self, kids, env: str) -> str:
        """Rows joined by ``\\\\`` in ``env``: a matrix environment, or ``array{rl}`` for aligned equations."""
        body = r" \\ ".join(self.conv(r) for r in kids)
        if env.startswith("{"):
            return r"\begin{array}" + env + body + r"\end{array}"
        return rf"\begin{{{env}}}{body}\end{{{env}}}"


def _own_tex(semantics) -> str:
    """The text of a ``semantics`` element's own TeX annotation (a direct child), or ""."""
    for ann in semantics:
        if (
            isinstance(ann.tag, str)
            and _local(ann.tag) == "annotation"
            and "tex" in (ann.get("encoding") or "").lower()
        ):
            text = "".join(ann.itertext()).strip()
            if text:
                return text
    return ""


def tex_annotation(math_el) -> str:
    """The TeX annotation of a whole ``<math>`` (KaTeX, Wikipedia, LaTeXML): in the ``semantics`` that is its
    child, or that a chain of single-child rows leads to; "" when it has none."""
    el = math_el
    for _ in range(8):
        tex = _own_tex(el)
        if tex:
            return tex
        kids = [k for k in el if isinstance(k.tag, str)]
        if len(kids) != 1 and not (kids and _local(kids[0].tag) == "semantics"):
            return ""
        el = kids[0]
    return ""


def _no_line(el) -> bool:
    """Whether an ``mfrac`` draws no rule (``linethickness`` zero in any unit): a binomial or a stack."""
    return _ZERO.fullmatch((el.get("linethickness") or "").strip()) is not None


_ZERO = re.compile(r"(?:0+(?:\.0*)?|\.0+)(?:[a-z]{1,5}|%)?")
_NAMED_SPACES = {"thinmathspace": r"\,", "mediummathspace": r"\:", "thickmathspace": r"\;"}
_SPACES = ((2.0, r"\qquad"), (1.0, r"\quad"), (0.27, r"\ "), (0.2, r"\:"), (0.1, r"\,"), (-1.0, ""))


def _space(width: str) -> str:
    """``mspace``'s width as the TeX space nearest it (a negative or empty one as the usual word space)."""
    if width.strip() in _NAMED_SPACES:
        return _NAMED_SPACES[width.strip()]
    m = re.match(r"\s*(-?\d*\.?\d+)\s*(em|ex|mu)?", width)
    if not m:
        return r"\ "
    size = float(m.group(1)) * {"em": 1.0, "ex": 0.43, "mu": 1 / 18, None: 1.0}[m.group(2)]
    if size <= 0:
        return "" if size == 0 else r"\!"
    return next(tex for at_least, tex in _SPACES if size >= at_least) or r"\,"


def _table_env(el, rows: list, children) -> str:
    """A table's environment: ``array`` with the column alignments it declares when they are not all centred
    (aligned equations), else ``matrix``."""
    align = (el.get("columnalign") or "").split()
    if not align or all(a == "center" for a in align):
        return "matrix"
    ncols = max((len(children(r)) for r in rows), default=1)
    spec = "".join(
        (align[min(k, len(align) - 1)][:1] if align[min(k, len(align) - 1)] in ("left", "right") else "c")
        for k in range(ncols)
    )
    return "{" + spec + "}"


def mathml_to_latex(math_el) -> str:
    """Convert a parsed ``<math>`` element (lxml) to LaTeX; a matrix in fences becomes ``\\left(\\begin{array}...``."""
    tex = " ".join(_Converter().conv(math_el).split())
    return _SPACE_AFTER_COMMAND.sub(r"\1", tex)
