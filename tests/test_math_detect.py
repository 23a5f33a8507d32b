"""Maths detection on raw HTML: real pages and one snippet per format."""

import pytest

from math_extract import detect

from conftest import bundled


def test_mathjax3_page_is_detected_with_its_formulas():
    info = detect(bundled("math/readability-mathjax/source.html").read_text())
    assert info.has_math and "mathjax3" in info.formats and "mathml" in info.formats
    assert info.n_formulas == 13


def test_wikipedia_mathml_is_not_double_counted_with_fallback_images():
    html = bundled("math/readability-wikipedia-3/source.html").read_text()
    info = detect(html)
    assert "mathml" in info.formats
    # nor with the TeX annotations inside the MathML: a \begin{bmatrix} there is part of one <math>, not a
    # formula of the text (bmatrix is not a display environment of its own)
    assert info.n_formulas == html.count("<math ") and "tex" not in info.formats


@pytest.mark.parametrize(
    "html, fmt",
    [
        ('<p>x <script type="math/tex">a^2</script></p>', "mathjax_tex_script"),
        ('<span class="katex"><span class="katex-mathml"><math></math></span></span>', "katex"),
        ('<img src="https://latex.codecogs.com/gif.latex?\\alpha" alt="">', "tex_image"),
        ("<p>[tex]x^2[/tex]</p>", "forum_tex"),
        ('<script src="ASCIIMathML.js"></script><p>`x^2`</p>', "asciimath"),
        ('<script type="math/asciimath">x^2</script>', "asciimath"),
        ("<p>Let \\(x^2\\) be</p>", "tex"),
        ("<p>so $$\\int f$$ holds</p>", "tex"),
        ("<p>We have $a_1 + b$ here</p>", "tex"),
        (
            '<span class="MathJax_Preview">x</span><span class="MathJax" id="MathJax-Element-1-Frame"></span>'
            '<script type="math/tex" id="MathJax-Element-1">x</script>',
            "mathjax2_rendered",
        ),
    ],
)
def test_each_format_is_detected(html, fmt):
    info = detect(html)
    assert fmt in info.formats and info.has_math and info.n_formulas >= 1


def test_prices_and_plain_pages_are_not_maths():
    info = detect(
        "<html><body><p>It costs $5 and $10 today; <b>sale</b></p><script>var a=$('x')</script></body></html>"
    )
    assert not info.has_math and info.n_formulas == 0 and info.formats == ()
