"""Every maths format ends up as TeX text in lynx's output, once, with its rendered duplicate gone.

The snippets follow the markup that MathJax 2/3, KaTeX, MediaWiki, WordPress, codecogs and forum software
emit; the real pages in shared/data are checked in test_math_extractor.py.
"""

import pytest
from lxml import etree

from math_extract import MathExtractor
from math_extract.asciimath import asciimath_to_tex
from math_extract.mathml import mathml_to_latex


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
            "(\\begin{array}{cc}1 & 0 \\\\ 0 & 1\\end{array})",
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
