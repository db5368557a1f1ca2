"""The benchmark harness measures real work beside its baseline."""

from __future__ import annotations

from kb.bench.harness import bench_requests, bundled_figures, flat_facts, handwritten, table
from kb.bench.latency import BASELINE, cli_figures


def test_bench_figures_have_baselines():
    figures = bundled_figures(20)
    names = [f.name for f in figures]
    assert names[1] == "as-of lookup, whole policy (kb.as_of)" and "evaluate, full trace (kb.evaluate)" in names
    pas = next(f for f in figures if f.name.startswith("PAS round trip"))
    assert pas.baseline == "same request as plain JSON, evaluated" and pas.ratio > 1
    assert all(f.value > 0 and f.baseline_value > 0 for f in figures)
    assert all(f.p99 >= f.value for f in figures if f.unit == "µs")
    assert table(figures).count("\n") == len(figures) + 1


def test_bench_requests_reach_every_outcome():
    outcomes = {handwritten(flat_facts(r)) for r in bench_requests(500)}
    assert outcomes == {"approve", "deny", "pend", "refer"}


def test_latency_figures_time_each_command_beside_the_import_baseline(tmp_path):
    figures = cli_figures(tmp_path, runs=1)
    assert [f.name for f in figures] == [
        "kb --help",
        "kb asof CP.PHAR.359 2024-08-01",
        "kb evaluate, ICD-10-CM and NUCC codes",
        "first CDS hook after kb serve starts",
    ]
    commands, hook = figures[:3], figures[3]
    assert all(f.unit == "s" and f.baseline == BASELINE and f.value > 0 and f.baseline_value > 0 for f in commands)
    assert hook.baseline == "a warm hook request" and hook.value > 0 and hook.baseline_value > 0
