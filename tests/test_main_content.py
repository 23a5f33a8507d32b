"""Main-content selection on handmade pages: threads kept whole, hidden overlays never chosen, comments with
maths kept beside a blog post, an article's comment section still dropped."""

from __future__ import annotations

from math_extract import MathExtractor

_PARA = (
    "This paragraph is written long enough to count as prose, with commas, clauses and a few ideas, "
    "so that the scorer treats it the way it treats the text of a real post or article."
)


def _text(html: str) -> str:
    result = MathExtractor().extract(html)
    assert result.reason is None, result.reason
    return result.text


def _post(n: int, body: str = _PARA) -> str:
    return (
        f'<div class="comment comment-{1000 + n}_wrap"><div class="comment-meta">user{n} · 3 votes</div>'
        f"<p>Post {n} says: {body}</p></div>"
    )


def test_thread_keeps_question_and_every_answer_in_order() -> None:
    posts = "".join(_post(n) for n in range(1, 6))
    html = (
        "<html><body><nav><a href='/'>Home</a> <a href='/f'>Forums</a></nav>"
        f"<h1>How do I choose a budget lens?</h1><div class='thread'>{posts}</div>"
        "<footer>Terms · Privacy · Contact</footer></body></html>"
    )
    text = _text(html)
    positions = [text.find(f"Post {n} says") for n in range(1, 6)]
    assert all(p >= 0 for p in positions), text
    assert positions == sorted(positions)
    assert "Terms" not in text


def test_article_with_long_comment_section_drops_the_comments() -> None:
    article = "".join(f"<p>Article paragraph {n}. {_PARA}</p>" for n in range(8))
    comments = "".join(_post(n) for n in range(1, 4))
    html = (
        f"<html><body><article class='post'><h1>Title</h1>{article}</article>"
        f"<section class='comments'>{comments}</section></body></html>"
    )
    text = _text(html)
    assert "Article paragraph 7" in text
    assert "Post 2 says" not in text


def test_hidden_consent_notice_never_wins_over_the_article() -> None:
    policy = "".join(f"<p>We and our partners store cookies, {_PARA}</p>" for _ in range(12))
    article = "".join(f"<p>News paragraph {n}. {_PARA}</p>" for n in range(3))
    for hiding in ('hidden=""', 'aria-hidden="true"', 'style="display: none"', 'style="visibility:hidden"'):
        html = (
            f"<html><body><div class='consent-layer' {hiding}>{policy}</div>"
            f"<div class='story'><h1>Council votes</h1>{article}</div></body></html>"
        )
        text = _text(html)
        assert "News paragraph 2" in text, hiding
        assert "partners store cookies" not in text, hiding


def test_closed_dialog_and_template_are_not_content() -> None:
    article = "".join(f"<p>Report paragraph {n}. {_PARA}</p>" for n in range(3))
    html = (
        f"<html><body><dialog class='notice'><p>Accept all cookies? {_PARA}</p></dialog>"
        f"<template><p>Template text. {_PARA}</p></template><div>{article}</div></body></html>"
    )
    text = _text(html)
    assert "Report paragraph 2" in text
    assert "Accept all cookies" not in text and "Template text" not in text


def test_blog_comments_holding_maths_are_kept_beside_the_post() -> None:
    post = "".join(f"<p>Post paragraph {n}. {_PARA} Consider \\(a_{n}+b_{n}\\) here.</p>" for n in range(6))
    comments = "".join(
        f"<div class='comment depth-1'><p>Comment {n}: {_PARA} What about \\(x^{n}+y^{n}=z^{n}\\)?</p></div>"
        for n in range(3)
    )
    html = (
        f"<html><body><div class='wrapper'><div class='primary'><div class='entry'>{post}</div></div>"
        f"<div class='commentlist'>{comments}</div><div class='sidebar'><a href='/a'>Archives</a></div></div>"
        "</body></html>"
    )
    text = "".join(_text(html).split())
    for n in range(3):
        assert f"x^{n}+y^{n}=z^{n}" in text
    assert "a_5+b_5" in text


def test_thread_of_plain_message_blocks_keeps_every_post() -> None:
    """Posts that carry no widget-like class: the best-scoring post's same-shaped siblings are the thread."""
    bodies = [_PARA, _PARA + " " + _PARA, "Short thanks, that worked for me after a reboot of the router.", _PARA]
    posts = "".join(
        f'<div class="message message--post js-post" id="post-{n}"><div class="message-user">'
        f"<a href='/u/{n}'>member{n}</a> Joined 2019</div><div class='message-body'><div>Reply {n}: {b}</div>"
        "</div></div>"
        for n, b in enumerate(bodies)
    )
    html = f"<html><body><div class='p-body'><h1>Router drops the connection</h1>{posts}</div></body></html>"
    text = _text(html)
    for n in range(len(bodies)):
        assert f"Reply {n}:" in text, text


def test_page_of_links_keeps_its_links() -> None:
    """A front page made only of teaser links is its link lists: dropping them would leave nothing."""
    items = "".join(
        f"<li><a href='/news/{n}'>Headline number {n} about the council budget vote</a></li>" for n in range(12)
    )
    html = f"<html><body><div class='front'><h2>Top stories</h2><ul>{items}</ul></div></body></html>"
    text = _text(html)
    assert "Headline number 0" in text and "Headline number 11" in text


def test_service_page_of_cards_is_kept_whole() -> None:
    """A page with little text in paragraphs (cards, features) is measured by all its unlinked text, so the
    best card climbs to the page's content rather than standing alone."""
    cards = "".join(
        f"<div class='card'><h3>Feature {n}</h3><div>Plan, track and share work item {n} with the whole team, "
        "from any device.</div></div>"
        for n in range(6)
    )
    faq = "<ul class='faq'><li><div>Is there a free plan? Yes, for up to five users, with unlimited projects.</div></li></ul>"
    html = f"<html><body><div class='features'>{cards}</div><div class='more'>{faq}</div></body></html>"
    text = _text(html)
    assert "Feature 0" in text and "Feature 5" in text and "free plan" in text


def test_list_article_keeps_every_numbered_item() -> None:
    """A list article is an intro and a run of item blocks (heading, picture, text, shop link): all kept."""
    intro = f"<div class='article-intro'><p>Intro. {_PARA}</p><p>More intro, {_PARA}</p></div>"
    items = "".join(
        f"<div class='listicle-item' id='item-{n}'><h2>{n}. Product {n}</h2><div class='img'><img src='x.jpg'></div>"
        f"<p>Item {n} text. {_PARA}</p><p><a href='/buy/{n}'>Buy at Shop</a></p></div>"
        for n in range(1, 7)
    )
    html = (
        "<html><body><nav><a href='/'>Home</a></nav>"
        f"<main><h1>Best lenses</h1>{intro}<div class='items'>{items}</div></main><footer>Terms</footer></body></html>"
    )
    text = _text(html)
    assert "Intro." in text
    for n in range(1, 7):
        assert f"Item {n} text." in text


def test_news_article_drops_pagination_and_related_teasers() -> None:
    story = "".join(f"<p>Story paragraph {n}. {_PARA}</p>" for n in range(6))
    teasers = "".join(
        f"<li><a href='/n/{n}'><img src='t.jpg'><span>Council approves bus lanes, part {n}</span></a>"
        "<time>3 hours ago</time></li>"
        for n in range(6)
    )
    html = (
        f"<html><body><div class='page'><div class='story-body'><h1>Budget vote</h1>{story}"
        "<div class='pages'><a href='?p=1'>1</a> <a href='?p=2'>2</a> <a href='?p=2'>Next</a></div></div>"
        f"<div class='more-news'><h2>More news</h2><ul>{teasers}</ul></div></div></body></html>"
    )
    text = _text(html)
    assert "Story paragraph 5" in text
    assert "bus lanes" not in text and "Next" not in text


def test_figure_caption_holding_a_formula_is_kept() -> None:
    """Captions are dropped as boilerplate, but one that carries a formula describes the content."""
    paper = "".join(f"<p>Section text {n}. {_PARA}</p>" for n in range(4))
    html = (
        f"<html><body><article>{paper}<figure><img src='f.png'>"
        "<figcaption>Figure 1: the flux for \\(20\\%\\leq f\\leq 70\\%\\).</figcaption></figure>"
        "<figure><img src='g.png'><figcaption>Photo: Getty Images</figcaption></figure></article></body></html>"
    )
    text = "".join(_text(html).split())
    assert "20\\%\\leqf\\leq70\\%" in text
    assert "Getty" not in text


def test_a_thread_given_to_crawlers_in_noscript_is_the_content() -> None:
    posts = "".join(
        f'<div class="topic-post"><span>user{n}</span><p>Post {n} says: {_PARA}</p></div>' for n in range(4)
    )
    html = (
        "<html><body><header><a href='/'>Forum</a> <a href='/latest'>Latest</a></header>"
        f"<div id='outlet'><noscript><h1>Why does the proof fail?</h1>{posts}</noscript></div>"
        "<footer>Powered by forum software</footer></body></html>"
    )
    text = _text(html)
    assert all(f"Post {n} says" in text for n in range(4)), text


def test_a_noscript_notice_beside_the_article_is_still_dropped() -> None:
    html = (
        "<html><body><noscript>Please enable JavaScript to use all features of this site.</noscript>"
        f"<article><h1>Title</h1>{('<p>' + _PARA + '</p>') * 5}</article></body></html>"
    )
    assert "enable JavaScript" not in _text(html)


def test_opening_post_shaped_like_the_replies_keeps_the_replies_named_comments() -> None:
    # forum software marks the replies (not the opening post) as schema.org comments; all share one class
    opening = "".join(f"<p>Opening paragraph {n}. {_PARA}</p>" for n in range(3))
    replies = "".join(
        f"<div class='topic-body crawler-post' itemprop='comment'><p>Reply {n} says: {_PARA}</p></div>"
        for n in range(1, 5)
    )
    html = (
        "<html><body><nav><a href='/'>Home</a></nav><h1>Struggling with training</h1>"
        f"<div class='topic-body crawler-post'>{opening}</div>{replies}"
        "<footer>Terms · Privacy · Contact</footer></body></html>"
    )
    text = _text(html)
    assert "Opening paragraph 2" in text
    assert all(f"Reply {n} says" in text for n in range(1, 5)), text


def test_thread_whose_posts_differ_in_class_keeps_every_post() -> None:
    classes = ("owner-post", "pt-4 owner-post", "pt-4", "pt-4 deleted", "pt-4 owner-post")
    posts = "".join(
        f"<li class='{c}' itemprop='comment'><div class='meta'>user{n}</div><p>Post {n} says: {_PARA}</p></li>"
        for n, c in enumerate(classes, 1)
    )
    html = (
        "<html><body><h1>RC1 of version 4</h1>"
        f"<ul class='posts timeline'>{posts}</ul><footer>Terms · Privacy</footer></body></html>"
    )
    text = _text(html)
    assert all(f"Post {n} says" in text for n in range(1, 6)), text


def test_open_thread_post_drops_the_comment_list_beside_it() -> None:
    # the run rule stops at a container named for comments: a blog's comments are not a thread
    comments = "".join(
        f"<li class='comment {('even', 'odd alt')[n % 2]} depth-1'><p>Comment {n} says: {_PARA}</p></li>"
        for n in range(1, 9)
    )
    html = (
        f"<html><body><article class='post'><h1>Open thread</h1><p>Talk about anything. {_PARA}</p></article>"
        f"<ol class='comment-list'>{comments}</ol></body></html>"
    )
    text = _text(html)
    assert "Talk about anything" in text
    assert "Comment 3 says" not in text


def test_thread_of_posts_written_as_lines_keeps_every_post() -> None:
    # posts as text and <br> straight in a div hold no paragraph: their lines count as prose
    line = "a line of a forum post with enough words, commas and ideas to read as one"
    posts = "".join(
        f"<div class='comment'><b>user{n}</b><div class='body'>Post {n} says: {line}<br>{line}<br>{line}</div></div>"
        for n in range(1, 5)
    )
    html = (
        "<html><body><div class='menu'><a href='/'>Home</a> <a href='/t'>Topics</a></div>"
        f"<h1>Hybrid computing</h1><div class='thread'>{posts}</div><p>Copyright 2024</p></body></html>"
    )
    text = _text(html)
    assert all(f"Post {n} says" in text for n in range(1, 5)), text


def test_author_cards_beside_posts_are_dropped() -> None:
    # schema.org marks each post's author card (name, join date, rank) with itemprop="author", beside the text
    posts = "".join(
        f"<article class='message'><section class='message-user' itemprop='author'><h4>user{n}</h4>"
        f"<dl><dt>Joined</dt><dd>Dec 23, 2009</dd><dt>Member Type</dt><dd>Retired teacher</dd></dl></section>"
        f"<div class='message-content'><p>Post {n} says: {_PARA}</p></div></article>"
        for n in range(1, 5)
    )
    text = _text(f"<html><body><h1>Car rental or car rent?</h1><div class='thread'>{posts}</div></body></html>")
    assert all(f"Post {n} says" in text for n in range(1, 5)), text
    assert "Joined" not in text and "Member Type" not in text, text


def test_an_article_nested_in_an_unclosed_button_is_kept() -> None:
    # the parser nests everything after an unclosed <button> inside it; controls are otherwise removed
    html = (
        "<html><body><nav><a href='/'>Home</a></nav><button class='menu-toggle'>Menu"
        f"<div class='content'><h1>Title</h1>{('<p>' + _PARA + '</p>') * 6}</div></body></html>"
    )
    assert _text(html).count("This paragraph is written") == 6


def test_a_short_button_is_still_removed() -> None:
    html = f"<html><body><button>Subscribe now</button><article><h1>T</h1>{('<p>' + _PARA + '</p>') * 4}</article></body></html>"
    assert "Subscribe" not in _text(html)


def _service_page(block: str) -> str:
    return (
        "<html><body><nav><a href='/'>Home</a> <a href='/p'>Pricing</a></nav><main><h1>Hosting</h1>"
        f"<p>Intro. {_PARA}</p><p>More. {_PARA}</p>{block}</main><footer>Terms · Privacy</footer></body></html>"
    )


def test_clipping_class_does_not_make_cards_boilerplate() -> None:
    """``overflow-x-hidden`` clips a box's overflow; the box is shown, and here holds the page's service cards."""
    cards = "".join(
        f"<div class='card'><h3>Service {n}</h3><p>Service {n} keeps your files safe, every night.</p></div>"
        for n in range(6)
    )
    for clipping in ("overflow-hidden", "w-full overflow-x-hidden", "tw-overflow-y-clip"):
        text = _text(_service_page(f"<div class='grid {clipping}'>{cards}</div>"))
        assert "Service 5 keeps your files safe" in text, clipping
        assert "Terms" not in text


def test_desktop_copy_of_a_responsive_block_is_kept_and_the_phone_copy_dropped() -> None:
    """A block hidden only below a breakpoint is what a desktop reader sees; its copy hidden above one is not."""
    facts = "Basic plan costs five, Pro plan costs ten, Team costs twenty."
    for desktop, phone in (
        ("plans hidden-xs", "plans hidden-lg"),
        ("_hidden_ab1 _hidden-lt-md_ab1", "_hidden_ab1 _hidden-gt-md_ab1"),
        ("hidden md:block", "list md:hidden"),
    ):
        text = _text(
            _service_page(
                f"<div class='{desktop}'><p>Desktop table: {facts}</p></div>"
                f"<div class='{phone}'><p>Phone list: {facts}</p></div>"
            )
        )
        assert "Desktop table" in text, desktop
        assert "Phone list" not in text, phone


def test_plainly_hidden_class_still_drops_a_widget() -> None:
    text = _text(_service_page(f"<div class='promo hidden'><p>Hidden offer. {_PARA[:60]}</p></div>"))
    assert "Hidden offer" not in text


def test_section_headers_are_content_and_the_page_banner_is_not() -> None:
    """A ``<header>`` introducing a ``<section>`` (a landing page's feature blocks) holds the section's title and
    lead; the page's own ``<header>`` and a teaser's linked header do not."""
    sections = "".join(
        f"<section class='feature'><header><h2>Feature {n}</h2><p>Feature {n} records your screen in a click, "
        f"with camera and sound.</p></header><img src='f{n}.png'></section>"
        for n in range(5)
    )
    teaser = "<section><ul><li><a href='/t'><header>Teaser title elsewhere</header></a></li></ul></section>"
    html = (
        "<html><body><header><a href='/'>Brand</a> Banner line of the site</header>"
        f"<main><h1>Record video</h1><p>Intro. {_PARA}</p>{sections}{teaser}</main></body></html>"
    )
    text = _text(html)
    assert all(f"Feature {n} records your screen" in text for n in range(5)), text
    assert "Banner line" not in text and "Teaser title" not in text


def test_a_cell_whose_own_text_is_long_only_with_its_spaces_still_scores() -> None:
    from lxml import etree

    from math_extract.boilerplate import _score_candidates, _Stats

    # nine words of two characters, each split over two text nodes inside one span: 18 characters counted, 26
    # once joined with their spaces, so the cell's own text reaches the 25 characters that score its row
    words = " ".join(f"{c}<sup>{i}</sup>" for i, c in enumerate("xyzwvutsr", 1))
    page = f"<html><body><table><tr><td><span>{words}</span></td></tr></table></body></html>"
    body = etree.fromstring(page, etree.HTMLParser()).find("body")
    assert body.find(".//tr") in _score_candidates(body, _Stats(body))
