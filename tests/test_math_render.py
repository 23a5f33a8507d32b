"""Batching for lynx (math_extract.render): the order pages are joined in, when a batch is full, and the split
of lynx's output on the markers."""

import re

from math_extract.render import MAX_TABLE_LOAD, BatchLoad, lynx_order, split_on_markers


def test_pages_with_tables_go_first_fewest_bytes_per_table_first():
    bodies = [b"<p>plain</p>", b"<table></table>" + b"x" * 100, b"<table></table><table></table>", b"<p>more</p>"]
    # bytes per table: body 1 has 115, body 2 has 15; the pages without tables keep their order after them
    assert lynx_order(bodies) == [2, 1, 0, 3]


def test_batch_closes_at_pages_bytes_or_table_load():
    load = BatchLoad()
    assert not load.full_with(b"<p>x</p>", max_pages=2, max_bytes=100)  # an empty batch takes anything
    load.add(b"<p>x</p>")
    assert not load.full_with(b"<p>y</p>", max_pages=2, max_bytes=100)
    assert load.full_with(b"<p>y</p>" * 20, max_pages=2, max_bytes=100)  # bytes
    load.add(b"<p>y</p>")
    assert load.full_with(b"<p>z</p>", max_pages=2, max_bytes=100)  # pages
    tables = BatchLoad()
    big = b"<table></table>" * 1000 + b"x" * (MAX_TABLE_LOAD // 2000)
    tables.add(big)
    assert not tables.full_with(b"<p>no table</p>", max_pages=1024, max_bytes=10**9)  # tables only count
    assert tables.full_with(big, max_pages=1024, max_bytes=10**9)  # 2000 tables x about MAX_TABLE_LOAD / 1000 bytes


def test_split_on_markers_is_the_line_split():
    token = "MXSEP0123"
    text = f"before\n{token}B0\n\nfirst page\n  {token}B1 \t\nsecond {token}B2 inline\n\t{token}E\nafter"
    expected = re.split(rf"^[ \t]*{token}(B\d+|E)[ \t]*$", text, flags=re.M)
    labels, pieces = split_on_markers(text, token)
    assert labels == expected[1::2] == ["B0", "B1", "E"]
    assert pieces == expected[0::2]
