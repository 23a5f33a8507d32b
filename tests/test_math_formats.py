"""Every maths format ends up as TeX text in lynx's output, once, with its rendered duplicate gone.

The snippets follow the markup that MathJax 2/3, KaTeX, MediaWiki, WordPress, codecogs and forum software
emit; the real pages in tests/data are checked in test_math_extractor.py.
"""

import pytest
from lxml import etree

from math_extract import MathExtractor
from math_extract.asciimath import asciimath_to_tex
from math_extract.mathml import mathml_to_latex
from math_extract.prepass import TEX_MARK, prepass


@pytest.fixture(scope="module")
def render():
    extractor = MathExtractor(main_content=False)

    def run(body: str) -> str:
        result = extractor.extract(f"<html><body>{body}</body></html>")
        assert result.reason is None, result.reason
        return result.text

    return run


def squash(text: str) -> str:
    return "".join(text.split())


def test_tex_in_text_is_kept_verbatim(render):
    out = render(
        r"<p>Inline \(a&lt;b\) and $x_1^2$ and</p><p>\[\sum_{i=1}^n i\]</p>"
        r"<p>$$E=mc^2$$</p><p>\begin{align}a&=b\\c&=d\end{align}</p>"
    )
    for tex in (r"\(a<b\)", r"$x_1^2$", r"\[\sum_{i=1}^n i\]", "$$E=mc^2$$", r"\begin{align}a&=b\\c&=d\end{align}"):
        assert squash(tex) in squash(out)


def test_mathjax2_scripts_become_dollars_and_previews_go(render):
    out = render(
        '<p>Let <span class="MathJax_Preview">PREVIEW</span><span class="MathJax" id="MathJax-Element-1-Frame">'
        '<span class="math">RENDERED</span></span><script type="math/tex" id="MathJax-Element-1">x^2+y^2</script>'
        ' be.</p><div class="MathJax_Display"><span>DISPLAYED</span></div>'
        '<script type="math/tex; mode=display">\\int_0^1 f</script>'
    )
    assert "$x^2+y^2$" in out and "$$\\int_0^1 f$$" in out
    assert "PREVIEW" not in out and "RENDERED" not in out and "DISPLAYED" not in out


def test_mathjax2_svg_display_and_sourceless_chtml_frames(render):
    out = render(
        '<div class="MathJax_SVG_Display"><span class="MathJax_SVG" id="MathJax-Element-2-Frame"><svg>'
        '<text>SVGTEXT</text></svg></span></div><script type="math/tex; mode=display" id="MathJax-Element-2">'
        'a=b</script><p>and <span class="mjx-chtml MathJax_CHTML" id="MathJax-Element-3-Frame">'
        '<span class="MJX_Assistive_MathML"><math><msub><mi>z</mi><mn>0</mn></msub></math></span></span>.</p>'
    )
    assert "$$a=b$$" in out and "$z_0$" in out and "SVGTEXT" not in out


def test_mathjax3_assistive_mathml_is_converted(render):
    out = render(
        '<p>Root <mjx-container class="MathJax" jax="CHTML"><mjx-math aria-hidden="true"><mjx-mi>GLYPHS'
        "</mjx-mi></mjx-math><mjx-assistive-mml><math><msqrt><mi>x</mi></msqrt></math></mjx-assistive-mml>"
        "</mjx-container> here.</p>"
    )
    assert "$\\sqrt{x}$" in out and "GLYPHS" not in out


def test_katex_keeps_the_tex_annotation_and_drops_katex_html(render):
    out = render(
        '<p>So <span class="katex-display"><span class="katex"><span class="katex-mathml"><math><semantics>'
        '<mrow><mi>a</mi></mrow><annotation encoding="application/x-tex">\\frac{a}{b}</annotation>'
        '</semantics></math></span><span class="katex-html" aria-hidden="true">KATEXHTML</span></span></span></p>'
    )
    assert "$$\\frac{a}{b}$$" in out and "KATEXHTML" not in out


def test_mathml_prefers_annotation_then_alttext_then_conversion(render):
    out = render(
        '<p><math alttext="ALT"><mi>q</mi><annotation encoding="application/x-tex">\\alpha</annotation>'
        '</math>, <math alttext="\\beta"><mi>b</mi></math>, <math><mfrac><mn>1</mn><mi>n</mi></mfrac></math></p>'
    )
    assert "$\\alpha$" in out and "$\\beta$" in out and "$\\frac{1}{n}$" in out and "ALT" not in out


def test_wikipedia_mathml_with_fallback_image_appears_once(render):
    out = render(
        '<p>A <span class="mwe-math-element"><span class="mwe-math-mathml-inline" style="display: none;">'
        '<math alttext="{\\displaystyle x}"><semantics><mi>x</mi><annotation encoding="application/x-tex">'
        '{\\displaystyle x}</annotation></semantics></math></span><img src="https://wikimedia.org/api/rest_v1/'
        'media/math/render/svg/abc" class="mwe-math-fallback-image-inline" alt="{\\displaystyle x}"></span>.</p>'
    )
    assert out.count("\\displaystyle x") == 1


@pytest.mark.parametrize(
    "img, tex",
    [
        ('<img src="https://latex.codecogs.com/gif.latex?\\dpi{110}\\alpha%2B\\beta" alt="">', "\\alpha+\\beta"),
        ('<img src="https://s0.wp.com/latex.php?latex=x%5E2+%2B+1&bg=ffffff&fg=000&s=0" alt="">', "x^2 + 1"),
        ('<img src="/cgi-bin/mimetex.cgi?\\sqrt{2}">', "\\sqrt{2}"),
        ('<img src="https://latex.codecogs.com/svg.image?x^2&amp;space;&amp;plus;&amp;space;1">', "x^2 + 1"),
        ('<img class="tex" src="/img/eq12.png" alt="e^{i\\pi}=-1">', "e^{i\\pi}=-1"),
    ],
)
def test_tex_images_give_their_tex(render, img, tex):
    assert f"${tex}$" in render(f"<p>See {img} now.</p>")


def test_plain_images_leave_no_placeholder(render):
    out = render('<p>A <img src="photo.jpg"> cat.</p>')
    assert "[" not in out and "photo" not in out


def test_asciimath_script_and_backticks(render):
    out = render(
        '<script src="ASCIIMathML.js"></script><p>Area `pi r^2` and '
        '<script type="math/asciimath">sum_(i=1)^n i</script>.</p>'
    )
    assert "$\\pi r^{2}$" in out and "$\\sum_{i=1}^{n}i$" in out


def test_forum_tags(render):
    out = render("<p>We get [tex]\\frac{1}{2}[/tex] and [math]x^3[/math].</p>")
    assert "$\\frac{1}{2}$" in out and "$x^3$" in out and "[tex]" not in out


def test_code_keeps_indentation_and_highlighting_is_flattened(render):
    out = render(
        '<pre><span class="k">def</span> <span class="nf">f</span>(x):\n    <span class="k">return</span>'
        ' x  <span class="c"># $not maths$</span></pre>'
    )
    assert "def f(x):\n    return x  # $not maths$" in out


def _prepassed(body: str, formats: tuple[str, ...] = ()):
    doc = etree.fromstring(f"<html><body>{body}</body></html>", etree.HTMLParser())
    prepass(doc, formats)
    return doc.find("body")


def test_code_is_unwrapped_unless_tex_may_be_in_the_text():
    body = _prepassed('<p>Call <code class="fn">f</code> twice; <kbd>q</kbd> quits, <samp>ok</samp>.</p>')
    assert body.find(".//code") is None and body.find(".//kbd") is None and body.find(".//samp") is None
    assert body.find("p").text == "Call f twice; q quits, ok."
    # where TeX may be written in the text, code stays apart: its dollars are not a formula
    body = _prepassed("<p>Set <code>$HOME$</code> so that $x+y$ holds.</p>", ("tex",))
    assert body.find(".//code").text == "$HOME$" and body.find("p").get(TEX_MARK) == "1"


def test_a_paragraph_of_ten_thousand_code_elements_becomes_one_text():
    body = _prepassed("<p>" + "<code>x</code> " * 10_001 + "</p>")  # crowded: joined in Python, not in C
    assert len(body.find("p")) == 0 and body.find("p").text == "x " * 10_001


def test_tables_are_kept_as_rows(render):
    out = render("<table><tr><td>alpha</td><td>1</td></tr><tr><td>beta</td><td>2</td></tr></table>")
    lines = [line.split() for line in out.splitlines() if line.strip()]
    assert lines == [["alpha", "1"], ["beta", "2"]]


def _math(xml: str):
    return etree.fromstring(xml)


@pytest.mark.parametrize(
    "xml, tex",
    [
        ("<math><msup><mi>x</mi><mn>2</mn></msup></math>", "x^2"),
        (
            "<math><msubsup><mo>∑</mo><mrow><mi>i</mi><mo>=</mo><mn>1</mn></mrow><mi>n</mi></msubsup></math>",
            "\\sum_{i=1}^n",
        ),
        ("<math><munderover><mo>∫</mo><mn>0</mn><mi>∞</mi></munderover></math>", "\\int_0^\\infty"),
        ("<math><mroot><mi>x</mi><mn>3</mn></mroot></math>", "\\sqrt[3]{x}"),
        ("<math><mover><mi>v</mi><mo>→</mo></mover></math>", "\\vec{v}"),
        ("<math><mover><mi>x</mi><mo>^</mo></mover></math>", "\\hat{x}"),
        ("<math><mfenced><mi>a</mi><mi>b</mi></mfenced></math>", "\\left( a,b \\right)"),
        (
            "<math><mrow><mo>(</mo><mtable><mtr><mtd><mn>1</mn></mtd><mtd><mn>0</mn></mtd></mtr>"
            "<mtr><mtd><mn>0</mn></mtd><mtd><mn>1</mn></mtd></mtr></mtable><mo>)</mo></mrow></math>",
            "\\begin{pmatrix}1 & 0 \\\\ 0 & 1\\end{pmatrix}",
        ),
        ("<math><mi>sin</mi><mi>θ</mi><mo>≤</mo><mn>1</mn></math>", "\\sin \\theta \\leq 1"),
        ("<math><mi mathvariant='double-struck'>R</mi></math>", "\\mathbb{R}"),
        ("<math><menclose notation='box'><mi>x</mi><mo>+</mo><mn>1</mn></menclose></math>", "\\boxed{x+1}"),
        ("<math><menclose notation='updiagonalstrike'><mi>x</mi></menclose></math>", "\\cancel{x}"),
        ("<math><menclose notation='updiagonalstrike downdiagonalstrike'><mi>y</mi></menclose></math>", "\\xcancel{y}"),
        ("<math><menclose notation='radical top'><mi>z</mi></menclose></math>", "\\overline{\\sqrt{z}}"),
        (
            "<math><mstack><mn>424</mn><msrow><mo>+</mo><mn>33</mn></msrow><msline/><mn>457</mn></mstack></math>",
            "\\begin{array}{r}424 \\\\ +33 \\\\ \\hline 457\\end{array}",
        ),
        (
            "<math><mlongdiv><mn>3</mn><mn>42</mn><mn>126</mn></mlongdiv></math>",
            "\\begin{array}{r}42 \\\\ 3\\,\\overline{)\\,126}\\end{array}",
        ),
    ],
)
def test_mathml_to_latex(xml, tex):
    assert mathml_to_latex(_math(xml)) == tex


def test_mathml_conversion_survives_absurd_nesting():
    xml = "<math>" + "<mrow>" * 1000 + "<mi>x</mi>" + "</mrow>" * 1000 + "</math>"
    assert mathml_to_latex(etree.fromstring(xml, etree.XMLParser(huge_tree=True))) == "x"


@pytest.mark.parametrize(
    "src, tex",
    [
        ("x^2", "x^{2}"),
        ("(a+b)/(c+d)", "\\frac{a+b}{c+d}"),
        ("sqrt(x) + alpha", "\\sqrt{x}+\\alpha"),
        ("int_0^oo e^(-x) dx", "\\int_{0}^{\\infty}e^{-x}dx"),
        ("a != b <= c", "a\\ne b\\le c"),
        ("[[a,b],[c,d]]", "\\begin{bmatrix}a & b \\\\ c & d\\end{bmatrix}"),
        ("A=((1,0),(0,1))", "A=\\begin{pmatrix}1 & 0 \\\\ 0 & 1\\end{pmatrix}"),
        ("((a,b),(c))", "((a,b),(c))"),  # rows of different lengths: not a matrix
        ("(a,b)", "(a,b)"),  # one group: a tuple, not a matrix
    ],
)
def test_asciimath_to_tex(src, tex):
    assert asciimath_to_tex(src) == tex


# --- AsciiMath: the rules of its grammar (asciimath.org), one case each


@pytest.mark.parametrize(
    "src, tex",
    [
        # fractions: the brackets around each side are dropped, as AsciiMath drops them; other brackets stay
        ("a/b", "\\frac{a}{b}"),
        ("(a+b)^2", "(a+b)^{2}"),
        ("((n(n+1))/2)^2", "(\\frac{n(n+1)}{2})^{2}"),
        ("[a]/{b}", "\\frac{a}{b}"),
        ("(:a:)/2", "\\frac{\\langle a\\rangle}{2}"),
        ("a/b/c", "\\frac{a}{b}/c"),
        ("a//b", "a/b"),  # // is a slash, not a fraction  # E = I/I E: the second slash has no fraction left to make
        ("dy/dx", "\\frac{dy}{dx}"),  # dx, dy are single symbols in AsciiMath
        ("f(x)/g(x)", "\\frac{f(x)}{g(x)}"),  # f and g are functions: their argument goes with them
        ("|x|/2", "\\frac{\\left|x\\right|}{2}"),
        # scripts: S_S^S, the script's brackets dropped; big operators and limits
        ("sum_(i=1)^n i", "\\sum_{i=1}^{n}i"),
        ("lim_(x->oo) 1/x", "\\lim_{x\\to\\infty}\\frac{1}{x}"),
        ("e^(i pi)", "e^{i\\pi}"),
        ("x_1^2", "x_{1}^{2}"),
        ("e^x/2", "\\frac{e^{x}}{2}"),
        # unary and binary commands
        ("sqrt x", "\\sqrt{x}"),
        ("sqrt(x+1)", "\\sqrt{x+1}"),
        ("root(3)(x)", "\\sqrt[3]{x}"),
        ("frac(a)(b)", "\\frac{a}{b}"),
        ("stackrel(def)(=)", "\\stackrel{def}{=}"),
        ("overset(x)(=)", "\\overset{x}{=}"),
        ("underset(x)(=)", "\\underset{x}{=}"),
        ("color(red)(x+1)", "{\\color{red}x+1}"),
        ("cancel(x)", "\\cancel{x}"),
        ("abs(x)", "\\left|x\\right|"),
        ("floor(x)", "\\left\\lfloor x\\right\\rfloor"),
        ("ceil(x)", "\\left\\lceil x\\right\\rceil"),
        ("norm(vec v)", "\\left\\|\\vec{v}\\right\\|"),
        # accents and fonts
        (
            "hat x bar y vec v ul z tilde a dot b ddot c",
            "\\hat{x}\\overline{y}\\vec{v}\\underline{z}\\tilde{a}\\dot{b}\\ddot{c}",
        ),
        ('ubrace(1+2)_("2 terms")', "\\underbrace{1+2}_{\\text{2 terms}}"),
        ("bb A cc B bbb R tt C fr D sf E", "\\mathbf{A}\\mathcal{B}\\mathbb{R}\\mathtt{C}\\mathfrak{D}\\mathsf{E}"),
        ('bb "AB"', "\\mathbf{AB}"),
        # functions: sin x applies, sin^2 x puts the power on sin
        ("sin x", "\\sin x"),
        ("sin^2 x", "\\sin^{2}x"),
        ("log_2 x", "\\log_{2}x"),
        ("sinx", "\\sin x"),
        # symbols, longest first: <=> before <=, int before in, oo, relations, arrows, logic, sets
        ("a <=> b", "a\\Leftrightarrow b"),
        ("int_0^1 f(x) dx", "\\int_{0}^{1}f(x)dx"),
        ("x in RR, oo, O/", "x\\in\\mathbb{R},\\infty,\\emptyset"),
        ("A sube B uu C nn D", "A\\subseteq B\\cup C\\cap D"),
        ("a xx b ** c -: d", "a\\times b\\ast c\\div d"),
        ("p => q, AA x EE y", "p\\Rightarrow q,\\forall x\\exists y"),
        ("f: A -> B, x |-> y", "f:A\\to B,x\\mapsto y"),
        ("a ~~ b -= c ~= d != e >= f", "a\\approx b\\equiv c\\cong d\\ne e\\ge f"),
        ("alpha beta Gamma", "\\alpha\\beta\\Gamma"),
        ("del f, grad f, +-1", "\\partial f,\\nabla f,\\pm1"),
        # text
        ('"speed" = d/t', "\\text{speed}=\\frac{d}{t}"),
        ("text(if ) x>0", "\\text{if }x>0"),
        ('"50% {off}"', "\\text{50\\% \\{off\\}}"),
        # matrices, cases, augmented matrices, determinants
        ("[[a,b],[c,d]]", "\\begin{bmatrix}a & b \\\\ c & d\\end{bmatrix}"),
        ("((1,0),(0,1))", "\\begin{pmatrix}1 & 0 \\\\ 0 & 1\\end{pmatrix}"),
        ("|(a,b),(c,d)|", "\\begin{vmatrix}a & b \\\\ c & d\\end{vmatrix}"),
        (
            "{(x, if x>0),(0, otherwise):}",
            "\\left\\{\\begin{matrix}x & \\text{ if }x>0 \\\\ 0 & otherwise\\end{matrix}\\right.",
        ),
        ("[[a,b,|,c],[d,e,|,f]]", "\\left[\\begin{array}{cc|c}a & b & c \\\\ d & e & f\\end{array}\\right]"),
        ("((a,b),(c))", "((a,b),(c))"),  # rows of different lengths: not a matrix
        # invisible and unmatched brackets
        ("{: x )", "x)"),
        ("(x", "(x"),
        # what TeX reads as markup never escapes the formula
        ("x^", "x\\hat{}"),
        ("a $ b", "a\\$b"),
        ("a \\\\ b \\", "a\\backslash b\\backslash"),
    ],
)
def test_asciimath_grammar(src, tex):
    assert asciimath_to_tex(src) == tex


def test_asciimath_pages_of_mathjax_are_converted(render):
    """MathJax 2's AsciiMath input: scripts with their previews, backticks on a page loading the AM_ config."""
    out = render(
        '<script src="https://cdn.example/MathJax.js?config=AM_CHTML"></script>'
        "<p>Since `(a+b)/(c+d) <= 1` and <code>`not maths`</code>,</p>"
        '<span class="MathJax_Preview">sum</span><span class="MathJax" id="MathJax-Element-1-Frame">R</span>'
        '<script type="math/asciimath; mode=display" id="MathJax-Element-1">sum_(i=1)^n i^3</script>'
    )
    assert "$\\frac{a+b}{c+d}\\le1$" in out
    assert "$$\\sum_{i=1}^{n}i^{3}$$" in out
    assert "`not maths`" in out


# --- MathML without TeX: the constructs MathJax and hand-written MathML use


@pytest.mark.parametrize(
    "xml, tex",
    [
        ("<math><mfrac><mrow><mi>a</mi><mo>+</mo><mi>b</mi></mrow><mn>2</mn></mfrac></math>", "\\frac{a+b}{2}"),
        (
            "<math><munder><mo>lim</mo><mrow><mi>x</mi><mo>→</mo><mn>0</mn></mrow></munder>"
            "<mfrac><mrow><mi>sin</mi><mo>\u2061</mo><mi>x</mi></mrow><mi>x</mi></mfrac></math>",
            "\\lim_{x\\to 0}\\frac{\\sin x}{x}",
        ),
        (
            "<math><munderover><mo>∑</mo><mrow><mi>i</mi><mo>=</mo><mn>1</mn></mrow><mi>n</mi></munderover>"
            "<msub><mi>x</mi><mi>i</mi></msub></math>",
            "\\sum_{i=1}^nx_i",
        ),
        (
            "<math><msup><mrow><mo>(</mo><mi>a</mi><mo>+</mo><mi>b</mi><mo>)</mo></mrow><mn>2</mn></msup></math>",
            "{(a+b)}^2",
        ),
        ("<math><msqrt><mi>x</mi><mo>+</mo><mn>1</mn></msqrt></math>", "\\sqrt{x+1}"),
        # accents as MathJax writes them: \bar, \overline, \underline, \vec, \dot
        (
            "<math><mover><mi>x</mi><mo>¯</mo></mover><mover accent='true'><mi>y</mi><mo>―</mo></mover>"
            "<munder><mi>z</mi><mo>―</mo></munder><mover><mi>v</mi><mo>→</mo></mover><mover><mi>t</mi><mo>˙</mo>"
            "</mover></math>",
            "\\bar{x}\\overline{y}\\underline{z}\\vec{v}\\dot{t}",
        ),
        ("<math><mover><mi>x</mi><mi>def</mi></mover></math>", "\\overset{\\mathrm{def}}{x}"),
        # tables: a matrix in its fences, a case split, aligned equations
        (
            "<math><mfenced open='[' close=']'><mtable><mtr><mtd><mi>a</mi></mtd><mtd><mi>b</mi></mtd></mtr>"
            "</mtable></mfenced></math>",
            "\\begin{bmatrix}a & b\\end{bmatrix}",
        ),
        (
            "<math><mrow><mo>|</mo><mtable><mtr><mtd><mi>a</mi></mtd></mtr><mtr><mtd><mi>b</mi></mtd></mtr>"
            "</mtable><mo>|</mo></mrow></math>",
            "\\begin{vmatrix}a \\\\ b\\end{vmatrix}",
        ),
        (
            "<math><mrow><mo>{</mo><mtable columnalign='left left'><mtr><mtd><mn>1</mn></mtd><mtd><mtext>if\u00a0"
            "</mtext><mi>x</mi><mo>&gt;</mo><mn>0</mn></mtd></mtr><mtr><mtd><mn>0</mn></mtd><mtd><mtext>otherwise"
            "</mtext></mtd></mtr></mtable><mo></mo></mrow></math>",
            "\\begin{cases}1 & \\text{if }x>0 \\\\ 0 & \\text{otherwise}\\end{cases}",
        ),
        (
            "<math><mtable columnalign='right left'><mtr><mtd><mi>a</mi></mtd><mtd><mo>=</mo><mi>b</mi></mtd>"
            "</mtr></mtable></math>",
            "\\begin{array}{rl}a & =b\\end{array}",
        ),
        (
            "<math><mtable><mlabeledtr><mtd><mtext>(1)</mtext></mtd><mtd><mi>x</mi></mtd></mlabeledtr></mtable></math>",
            "\\begin{matrix}x\\end{matrix}",
        ),
        # binomials: a fraction without a rule, in parentheses
        (
            "<math><mrow><mo>(</mo><mfrac linethickness='0'><mi>n</mi><mi>k</mi></mfrac><mo>)</mo></mrow></math>",
            "\\binom{n}{k}",
        ),
        (  # MathJax's \binom: the fences in rows of their own
            "<math><mrow><mrow><mo>(</mo></mrow><mfrac linethickness='0'><mi>n</mi><mi>k</mi></mfrac><mrow><mo>)</mo>"
            "</mrow></mrow></math>",
            "\\binom{n}{k}",
        ),
        ("<math><mfrac linethickness='0px'><mi>n</mi><mi>k</mi></mfrac></math>", "\\genfrac{}{}{0pt}{}{n}{k}"),
        # identifiers: functions, multi-letter names, variants; the Greek letters MathJax draws for each command
        (
            "<math><mi>log</mi><mi>x</mi><mo>+</mo><mi>rank</mi><mi>A</mi><mo>+</mo>"
            "<mi data-mjx-texclass='OP'>tr</mi><mi>B</mi></math>",
            "\\log x+\\mathrm{rank}A+\\operatorname{tr}B",
        ),
        ("<math><mi>ε</mi><mi>ϵ</mi><mi>φ</mi><mi>ϕ</mi></math>", "\\varepsilon \\epsilon \\varphi \\phi"),
        ("<math><mi mathvariant='bold'>v</mi><mi mathvariant='fraktur'>g</mi></math>", "\\mathbf{v}\\mathfrak{g}"),
        # operators to their TeX names
        (
            "<math><mo>∀</mo><mi>x</mi><mo>∈</mo><mi>ℝ</mi><mo>:</mo><mi>x</mi><mo>≤</mo><mi>∞</mi><mo>⟹</mo>"
            "<mi>∂</mi><mo>⊆</mo><mo>∫</mo></math>",
            "\\forall x\\in \\mathbb{R}:x\\leq \\infty \\Longrightarrow \\partial \\subseteq \\int",
        ),
        # text and spaces
        ("<math><mtext>cost in $ &amp; 50%</mtext></math>", "\\text{cost in \\$ \\& 50\\%}"),
        (
            "<math><mi>a</mi><mspace width='1em'/><mi>b</mi><mspace width='0.1667em'/><mi>c</mi></math>",
            "a\\quad b\\,c",
        ),
        # semantics: a nested TeX annotation is used; content MathML is not read as presentation
        (
            "<math><semantics><apply><plus/><ci>a</ci><ci>b</ci></apply><annotation-xml "
            "encoding='MathML-Presentation'><mi>a</mi><mo>+</mo><mi>b</mi></annotation-xml></semantics></math>",
            "a+b",
        ),
        (
            "<math><mi>y</mi><mo>=</mo><semantics><mi>q</mi><annotation encoding='application/x-tex'>\\xi"
            "</annotation></semantics></math>",
            "y={\\xi}",
        ),
    ],
)
def test_mathml_constructs(xml, tex):
    assert mathml_to_latex(_math(xml)) == tex


def test_tex_of_math_takes_the_formulas_own_annotation():
    """LaTeXML nests TeX-annotated pieces in a formula's text; the formula's own annotation comes after them."""
    from math_extract.prepass import tex_of_math

    xml = (
        "<math alttext='ALT'><semantics><mrow><mi>f</mi><mo>=</mo><mtext>number of </mtext><semantics><mi>x</mi>"
        "<annotation encoding='application/x-tex'>x_{i}</annotation></semantics></mrow>"
        "<annotation encoding='application/x-tex'>f=\\text{number of $x_{i}$}</annotation></semantics></math>"
    )
    assert tex_of_math(_math(xml)) == "f=\\text{number of $x_{i}$}"


def test_mathjax_mathml_input_with_entities_and_raw_mathml(render):
    """MathJax's MathML input (``<script type="math/mml">``, named entities undeclared in XML) and raw
    ``<math>`` without annotation or alttext in the page."""
    out = render(
        '<p>So <script type="math/mml"><math xmlns="http://www.w3.org/1998/Math/MathML" display="block">'
        "<mi>a</mi><mo>&InvisibleTimes;</mo><mi>b</mi><mo>&PlusMinus;</mo><mfrac><mn>1</mn><mi>&alpha;</mi>"
        "</mfrac><mo>&lt;</mo><mn>2</mn></math></script> and "
        "<math><msup><mi>e</mi><mrow><mi>i</mi><mi>π</mi></mrow></msup><mo>=</mo><mo>−</mo><mn>1</mn></math>.</p>"
    )
    assert "$$ab\\pm \\frac{1}{\\alpha}<2$$" in out
    assert "$e^{i\\pi}=-1$" in out
