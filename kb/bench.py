"""The benchmark harness: each figure beside a baseline measured in the same run.

So far it measures parsing, the as-of lookup and diffs; the payer-scale corpus, evaluation
and Datasette figures are still to come (see the open benchmark issue).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kb.api import KnowledgeBase, bundled_policy_paths
from kb.asof import FOREVER, in_force_sql
from loaders.centene import load_path

DATES = ("2021-12-01", "2023-01-15", "2024-01-15", "2024-08-01", "2025-01-15", "2025-12-01")


@dataclass(frozen=True)
class Figure:
    name: str
    median_us: float
    p99_us: float
    baseline: str
    baseline_median_us: float

    @property
    def ratio(self) -> float:
        return self.median_us / self.baseline_median_us


def _timings(action: Callable[[int], object], runs: int) -> list[float]:
    samples = []
    for run in range(runs):
        start = time.perf_counter_ns()
        action(run)
        samples.append((time.perf_counter_ns() - start) / 1000)
    return samples


def _figure(
    name: str, action: Callable[[int], object], baseline: str, base: Callable[[int], object], runs: int
) -> Figure:
    measured, reference = _timings(action, runs), _timings(base, runs)
    p99 = sorted(measured)[int(len(measured) * 0.99) - 1]
    return Figure(name, statistics.median(measured), p99, baseline, statistics.median(reference))


def run(runs: int) -> list[Figure]:
    """Figures for the bundled policy in a fresh temporary knowledge base."""
    path = bundled_policy_paths()[0]
    text = path.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as folder, KnowledgeBase(Path(folder) / "bench.sqlite") as kb:
        kb.load([path])
        connection = kb.connection
        plain_sql = "SELECT * FROM criterion WHERE policy_id = ? AND valid_from <= ? AND superseded_at IS NULL"
        in_force = in_force_sql("criterion")
        return [
            _figure(
                "parse one document",
                lambda _: load_path(path),
                "read + split lines",
                lambda _: Path(path).read_text(encoding="utf-8").splitlines() and text,
                max(runs // 20, 20),
            ),
            _figure(
                "as-of lookup, whole policy (kb.as_of)",
                lambda i: kb.as_of("CP.PHAR.359", DATES[i % 6]),
                "plain indexed SELECT of criterion rows",
                lambda i: connection.execute(plain_sql, ("CP.PHAR.359", DATES[i % 6])).fetchall(),
                runs,
            ),
            _figure(
                "in-force SQL, criterion rows",
                lambda i: connection.execute(
                    in_force, {"policy": "CP.PHAR.359", "as_of": DATES[i % 6], "known_at": FOREVER}
                ).fetchall(),
                "plain indexed SELECT of criterion rows",
                lambda i: connection.execute(plain_sql, ("CP.PHAR.359", DATES[i % 6])).fetchall(),
                runs,
            ),
            _figure(
                "one diff, 2024-08-01 -> 2025-12-01",
                lambda _: kb.diff("CP.PHAR.359", "2024-08-01", "2025-12-01", audit=False),
                "the two as-of lookups it needs",
                lambda _: (kb.as_of("CP.PHAR.359", "2024-08-01"), kb.as_of("CP.PHAR.359", "2025-12-01")),
                max(runs // 4, 20),
            ),
            _figure(
                "one diff with the revision-log audit",
                lambda _: kb.diff("CP.PHAR.359", "2024-08-01", "2025-12-01"),
                "the two as-of lookups it needs",
                lambda _: (kb.as_of("CP.PHAR.359", "2024-08-01"), kb.as_of("CP.PHAR.359", "2025-12-01")),
                max(runs // 4, 20),
            ),
        ]


def table(figures: list[Figure]) -> str:
    rows = [
        f"| {'figure':<40} | {'median µs':>10} | {'p99 µs':>10} | {'baseline':<40} | {'baseline µs':>11} | ratio |",
        f"|{'-' * 42}|{'-' * 12}|{'-' * 12}|{'-' * 42}|{'-' * 13}|-------|",
    ]
    rows += [
        f"| {f.name:<40} | {f.median_us:>10.1f} | {f.p99_us:>10.1f} | {f.baseline:<40} | "
        f"{f.baseline_median_us:>11.1f} | {f.ratio:>5.1f} |"
        for f in figures
    ]
    return "\n".join(rows)
