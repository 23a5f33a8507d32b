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
    "ε": r"\epsilon",
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
    "φ": r"\phi",
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
_ACCENTS = {
    "^": r"\hat",
    "ˆ": r"\hat",
    "~": r"\tilde",
    "˜": r"\tilde",
    "¯": r"\bar",
    "‾": r"\overline",
    "→": r"\vec",
    "⃗": r"\vec",
    "˙": r"\dot",
    "¨": r"\ddot",
    "˘": r"\breve",
    "ˇ": r"\check",
    "⏞": r"\overbrace",
    "⏟": r"\underbrace",
    "_": r"\underline",
    "̲": r"\underline",
}
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
        parts = [self.conv(c) for c in self.children(el)]
        out = ""
        for p in parts:
            # a command just written ("\alpha") must not run into a letter that follows; only the last 8
            # characters are looked at, so a row of many letters stays linear
            if out and p and out[-1].isalpha() and p[0].isalpha() and "\\" in out[-8:]:
                if out.rsplit("\\", 1)[-1].isalpha():
                    out += " "
            out += p
        return out

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
                return self.conv(kids[0])
            return self.row(el)
        if name == "mi":
            variant = el.get("mathvariant", "")
            if len(text) > 1 and text in _FUNCTIONS:
                return "\\" + text + " "
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
            return r"\text{" + text + "}" if text else ""
        if name == "ms":
            return r'\text{"' + text + '"}'
        if name == "mspace":
            return r"\ "
        if name == "mfrac":
            a, b = (self.conv(kids[0]), self.conv(kids[1])) if len(kids) >= 2 else (self.row(el), "")
            if el.get("linethickness") in ("0", "0px", "0em"):
                return r"\binom{" + a + "}{" + b + "}"
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
            inner = (seps[0]).join(self.conv(k) for k in kids)
            return r"\left" + _FENCES.get(open_, open_) + " " + inner + r" \right" + _FENCES.get(close, close)
        if name == "mtable":
            return self.table(kids)
        if name in ("mtr", "mlabeledtr"):
            return " & ".join(self.conv(k) for k in kids)
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
            if _local(kids[1].tag) == "mo" and mark in _ACCENTS:
                return _ACCENTS[mark] + "{" + base + "}"
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

    def table(self, kids) -> str:
        rows = [self.conv(r) for r in kids]
        body = r" \\ ".join(rows)
        ncols = max((len(self.children(r)) for r in kids), default=1)
        return r"\begin{array}{" + "c" * max(ncols, 1) + "}" + body + r"\end{array}"


def mathml_to_latex(math_el) -> str:
    """Convert a parsed ``<math>`` element (lxml) to LaTeX; a matrix in fences becomes ``\\left(\\begin{array}...``."""
    tex = " ".join(_Converter().conv(math_el).split())
    return _SPACE_AFTER_COMMAND.sub(r"\1", tex)
