"""The benchmark harness measures real work beside its baseline."""

from __future__ import annotations

from kb.bench import run, table


def test_bench_figures_have_baselines():
    figures = run(20)
    assert [f.name for f in figures][1] == "as-of lookup, whole policy (kb.as_of)"
    assert all(f.median_us > 0 and f.baseline_median_us > 0 and f.p99_us >= f.median_us for f in figures)
    assert table(figures).count("\n") == len(figures) + 1
