"""Hostile inputs for ``bench/bench_hostile.py``: one module per area, each with ``CASES``.

``CASES`` maps a case name to a function that builds its crafted input under the folder it is given, sends it
through the real code path, and returns a one-line outcome (what was refused, dropped or kept). The bench runs
every case in a fresh process and reports its time and peak memory beside the bounds (60 s, 1 GB).
"""
