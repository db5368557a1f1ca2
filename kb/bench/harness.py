"""The benchmark harness: each figure beside a baseline measured in the same run.

Figures are medians (or rates) over repeated runs; on a noisy machine the ratio to the
baseline, measured seconds earlier by the same process, is the number to read.
"""

from __future__ import annotations

import json
import random
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import regopy

from kb.concepts.facts import Request
from kb.decide.compiled import compile_rules
from kb.store.asof import FOREVER, in_force_sql
from kb.store.staging import copy_database
from kb.surfaces.api import KnowledgeBase, bundled_policy_paths
from kb.surfaces.site.queries import METADATA
from loaders.centene import load_path

DATES = ("2021-12-01", "2023-01-15", "2024-01-15", "2024-08-01", "2025-01-15", "2025-12-01")
REGO = Path(__file__).resolve().parents[1] / "data" / "bench" / "CP.PHAR.359-V2025-11-initial.rego"
PAS_BUNDLE = Path(__file__).resolve().parents[1] / "data" / "bench" / "besponsa-pas.json"
"""A Da Vinci PAS request Bundle for Besponsa (the adult relapsed twin of tests/test_fhir_pas.py)."""


@dataclass(frozen=True)
class Figure:
    """One measured figure beside its baseline; ``ratio`` = figure / baseline."""

    name: str
    value: float
    unit: str
    baseline: str
    baseline_value: float
    p99: float | None = None

    @property
    def ratio(self) -> float:
        return self.value / self.baseline_value if self.baseline_value else float("nan")


def timings_us(action: Callable[[int], object], runs: int) -> list[float]:
    samples = []
    for run in range(runs):
        start = time.perf_counter_ns()
        action(run)
        samples.append((time.perf_counter_ns() - start) / 1000)
    return samples


def p99(samples: list[float]) -> float:
    return sorted(samples)[max(int(len(samples) * 0.99) - 1, 0)]


def latency(
    name: str, action: Callable[[int], object], baseline: str, base: Callable[[int], object], runs: int
) -> Figure:
    """Median latency in µs of ``action`` beside ``base``, interleaved run by run."""
    measured, reference = timings_us(action, runs), timings_us(base, runs)
    return Figure(name, statistics.median(measured), "µs", baseline, statistics.median(reference), p99(measured))


def rate(name: str, action: Callable[[], int], baseline: str, base: Callable[[], int], repeats: int = 3) -> Figure:
    """Best-of-``repeats`` throughput (items/s) of ``action`` beside ``base``; each returns its item count."""

    def best(run: Callable[[], int]) -> float:
        rates = []
        for _ in range(repeats):
            start = time.perf_counter()
            count = run()
            rates.append(count / (time.perf_counter() - start))
        return max(rates)

    return Figure(name, best(action), "/s", baseline, best(base))


def bundled_figures(runs: int) -> list[Figure]:
    """Latency figures on the bundled policy (6 versions) in a temporary knowledge base."""
    import tempfile

    path = bundled_policy_paths()[0]
    with tempfile.TemporaryDirectory() as folder, KnowledgeBase(Path(folder) / "bench.sqlite") as kb:
        kb.load([path])
        connection = kb.connection
        plain_sql = "SELECT * FROM criterion WHERE policy_id = ? AND valid_from <= ? AND superseded_at IS NULL"
        in_force = in_force_sql("criterion")

        def plain(i: int) -> list[Any]:
            return connection.execute(plain_sql, ("CP.PHAR.359", DATES[i % 6])).fetchall()

        def two_lookups(_: int) -> tuple[Any, Any]:
            return kb.as_of("CP.PHAR.359", "2024-08-01"), kb.as_of("CP.PHAR.359", "2025-12-01")

        return [
            latency(
                "parse one document",
                lambda _: load_path(path),
                "read + split lines",
                lambda _: path.read_text(encoding="utf-8").splitlines(),
                max(runs // 20, 20),
            ),
            latency(
                "as-of lookup, whole policy (kb.as_of)",
                lambda i: kb.as_of("CP.PHAR.359", DATES[i % 6]),
                "plain indexed SELECT of criterion rows",
                plain,
                runs,
            ),
            latency(
                "in-force SQL, criterion rows",
                lambda i: connection.execute(
                    in_force, {"policy": "CP.PHAR.359", "as_of": DATES[i % 6], "known_at": FOREVER}
                ).fetchall(),
                "plain indexed SELECT of criterion rows",
                plain,
                runs,
            ),
            latency(
                "one diff, 2024-08-01 -> 2025-12-01",
                lambda _: kb.diff("CP.PHAR.359", "2024-08-01", "2025-12-01", audit=False),
                "the two as-of lookups it needs",
                two_lookups,
                max(runs // 4, 20),
            ),
            latency(
                "one diff with the revision-log audit",
                lambda _: kb.diff("CP.PHAR.359", "2024-08-01", "2025-12-01"),
                "the two as-of lookups it needs",
                two_lookups,
                max(runs // 4, 20),
            ),
            *evaluation_figures(kb, max(runs * 10, 2000)),
            pas_figure(kb, max(runs // 4, 20)),
        ]


def pas_figure(kb: KnowledgeBase, runs: int) -> Figure:
    """A PAS round trip (parse the Bundle, read its facts, decide, write the response Bundle JSON)
    beside the same request as plain JSON (read, decide, write the decision JSON)."""
    from kb.surfaces.fhir.facts import item_facts, read_pas
    from kb.surfaces.fhir.pas import answer_json

    bundle = json.loads(PAS_BUNDLE.read_text(encoding="utf-8"))
    (item,) = item_facts(read_pas(bundle, PAS_BUNDLE.name), kb.connection)
    plain = item.request

    def plain_json(_: int) -> str:
        return json.dumps(kb.evaluate(Request.from_json(plain)).to_json(), default=str)

    return latency(
        "PAS round trip (Bundle in, Bundle JSON out)",
        lambda _: answer_json(kb, bundle, PAS_BUNDLE.name),
        "same request as plain JSON, evaluated",
        plain_json,
        runs,
    )


def bench_requests(count: int, seed: int = 359) -> list[Request]:
    """Complete initial requests for 2025-12-01, varied so that every outcome occurs."""
    pick = random.Random(seed)
    requests = []
    for index in range(count):
        facts = {
            "line_of_business": pick.choice(["Commercial", "HIM", "Medicaid"]),
            "diagnosis": pick.choice(["B-cell ALL"] * 9 + ["AML"]),
            "prescriber_specialty": pick.choice(["oncologist", "hematologist", "internist"]),
            "consulting_specialties": [],
            "age_years": pick.choice([2, 12, 16, 17, 18, 30, 70]),
            "cd22_positive": pick.random() > 0.1,
            "disease_status": pick.choice(["relapsed", "refractory", "newly diagnosed"]),
            "line_of_therapy": pick.choice([["frontline"], ["induction"], ["frontline", "induction"], []]),
            "cycles_requested": pick.choice([1, 2, 3]),
            "cycles_received": pick.choice([0, 2, 4, 5]),
            "dose_mg_per_m2_per_cycle": pick.choice([1.5, 1.8, 2.0]),
            "dose_mg_per_m2_per_dose": pick.choice([0.5, 0.8, 1.0]),
            "regimen_fda_or_nccn": pick.random() > 0.05,
            "supporting_evidence_submitted": pick.random() > 0.7,
        }
        requests.append(Request("CP.PHAR.359", date(2025, 12, 1), "initial", request_facts(facts), f"bench-{index}"))
    return requests


def request_facts(flat: dict[str, Any]) -> dict[str, Any]:
    """The request's facts in the vocabulary (doses as quantities) from the flat bench facts."""
    facts = {k: v for k, v in flat.items() if not k.startswith("dose_")}
    facts["dose"] = [
        {"value": flat["dose_mg_per_m2_per_cycle"], "unit": "mg/m2", "per": "cycle"},
        {"value": flat["dose_mg_per_m2_per_dose"], "unit": "mg/m2", "per": "dose"},
    ]
    return facts


def flat_facts(request: Request) -> dict[str, Any]:
    """The flat facts the hand-written function and the Rego peer read."""
    facts = {k: v for k, v in request.facts.items() if k != "dose"}
    for quantity in request.facts["dose"]:
        facts[f"dose_mg_per_m2_per_{quantity['per']}"] = quantity["value"]
    return facts


def handwritten(f: dict[str, Any]) -> str:
    """CP.PHAR.359 V2025-11 initial criteria written by hand as one function: the floor."""
    if f["diagnosis"].casefold() != "b-cell all":
        return "refer"
    rest = (
        f["prescriber_specialty"].casefold() in ("oncologist", "hematologist")
        and f["age_years"] >= 1
        and f["cd22_positive"]
        and (
            f["disease_status"] in ("relapsed", "refractory")
            or ("frontline" in f["line_of_therapy"] and f["age_years"] >= 18)
        )
        and f["cycles_requested"] + f["cycles_received"] <= 6
        and f["regimen_fda_or_nccn"]
    )
    if not rest:
        return "deny"
    if f["dose_mg_per_m2_per_cycle"] <= 1.8 and f["dose_mg_per_m2_per_dose"] <= 0.8:
        return "approve"
    return "pend" if f["supporting_evidence_submitted"] else "deny"


def rego_decisions(facts: Iterable[dict[str, Any]]) -> list[str]:
    interpreter = regopy.Interpreter()
    interpreter.add_module("besponsa", REGO.read_text(encoding="utf-8"))
    decisions = []
    for item in facts:
        interpreter.set_input(item)
        decisions.append(json.loads(str(interpreter.query("data.besponsa.decision")))["expressions"][0])
    return decisions


def evaluation_figures(kb: KnowledgeBase, count: int) -> list[Figure]:
    """Decisions/s: compiled (untraced) and traced, beside the hand-written floor and OPA's Rego."""
    requests = bench_requests(count)
    facts = [flat_facts(r) for r in requests]
    rules = kb.rules("CP.PHAR.359", "2025-12-01")
    decide = compile_rules(rules)["initial"]
    rego_sample = facts[: max(count // 20, 200)]
    compiled = [decide(r.values, r.date_of_service) for r in requests]
    if compiled != [handwritten(f) for f in facts] or compiled[: len(rego_sample)] != rego_decisions(rego_sample):
        raise AssertionError("the compiled rules, the hand-written function and Rego disagree on a request")
    if compiled[:2000] != [kb.evaluate(r).decision for r in requests[:2000]]:
        raise AssertionError("the traced evaluation disagrees with the compiled rules")

    def untraced() -> int:
        return sum(1 for _ in kb.decide_untraced(requests))

    def traced() -> int:
        return sum(1 for r in requests[: count // 5] if kb.evaluate(r))

    def floor() -> int:
        return sum(1 for f in facts if handwritten(f))

    def rego() -> int:
        return len(rego_decisions(rego_sample))

    return [
        rate("evaluate, untraced (compiled, with version lookup)", untraced, "hand-written Python function", floor),
        rate("evaluate, untraced", untraced, "OPA Rego via regopy", rego, repeats=1),
        rate("evaluate, full trace (kb.evaluate)", traced, "hand-written Python function", floor),
    ]


def table(figures: list[Figure]) -> str:
    rows = [
        f"| {'figure':<52} | {'value':>12} | {'p99':>10} | {'baseline':<40} | {'baseline':>12} | {'ratio':>7} |",
        f"|{'-' * 54}|{'-' * 14}|{'-' * 12}|{'-' * 42}|{'-' * 14}|{'-' * 9}|",
    ]
    rows += [
        f"| {f.name:<52} | {_amount(f.value, f.unit):>12} | {_amount(f.p99, f.unit) if f.p99 else '':>10} | "
        f"{f.baseline:<40} | {_amount(f.baseline_value, f.unit):>12} | {f.ratio:>7.2f} |"
        for f in figures
    ]
    return "\n".join(rows)


def _amount(value: float, unit: str) -> str:
    if unit == "µs":
        return f"{value / 1000:.2f} ms" if value >= 1000 else f"{value:.0f} µs"
    if unit == "/s":
        return f"{value:,.0f}/s"
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "MB":
        return f"{value:,.1f} MB"
    return f"{value:,.0f} {unit}"


CANNED_PARAMETERS = {
    "criteria_in_force": {"as_of": "2025-12-01"},
    "durations_in_force": {"as_of": "2025-12-01"},
    "codes_in_force": {"as_of": "2025-12-01"},
    "cross_references_in_force": {"as_of": "2025-12-01"},
    "version_timeline": {},
    "revision_log": {},
    "changes_between": {"from": "2024-08-01", "to": "2025-12-01"},
}


def scale_figures(folder: Path, policies: int, versions: int, runs: int) -> list[Figure]:
    """Figures on a synthetic knowledge base of ``policies`` x ``versions`` built in ``folder``."""
    from kb.bench.synthetic import generate

    label = f"[{policies:,} x {versions}]"
    rss_before = _peak_rss_mb()
    paths = generate(folder, policies, versions)
    sample = paths[: min(len(paths), 200)]
    figures = [
        rate(
            f"{label} parse (documents/s)",
            lambda: sum(1 for p in sample if load_path(p)),
            "read + split lines",
            lambda: sum(1 for p in sample if p.read_text(encoding="utf-8").splitlines()),
            repeats=1,
        ),
    ]
    database = folder / "kb.sqlite"
    with KnowledgeBase(database, changes=folder / "changes") as kb:
        start = time.perf_counter()
        reports = kb.load(paths)
        seconds = time.perf_counter() - start
        rows = sum(r.rows_added for r in reports)
        rss_loaded = _peak_rss_mb()
        figures.append(
            Figure(
                f"{label} load (rows/s; {seconds:.1f} s in all)",
                rows / seconds,
                "/s",
                "raw sqlite-utils insert of the same rows",
                _raw_insert_rate(kb, folder / "raw.sqlite"),
            )
        )
        policy_ids = [r.policy_id for r in reports]
        pick = random.Random(7)
        asks = [(pick.choice(policy_ids), pick.choice(DATES)) for _ in range(runs)]
        plain_sql = "SELECT * FROM criterion WHERE policy_id = ? AND valid_from <= ? AND superseded_at IS NULL"
        plain = lambda i: kb.connection.execute(plain_sql, asks[i]).fetchall()  # noqa: E731
        figures.append(
            latency(
                f"{label} as-of lookup, one policy",
                lambda i: kb.as_of(*asks[i]),
                "plain indexed SELECT of criterion rows",
                plain,
                runs,
            )
        )
        diffs = max(runs // 4, 20)
        figures.append(
            latency(
                f"{label} one diff",
                lambda i: kb.diff(asks[i][0], "2024-08-01", "2025-12-01", audit=False),
                "the two as-of lookups it needs",
                lambda i: (kb.as_of(asks[i][0], "2024-08-01"), kb.as_of(asks[i][0], "2025-12-01")),
                diffs,
            )
        )
        start = time.perf_counter()
        compared = sum(1 for _ in kb.diff_all("2024-08-01", "2025-12-01"))
        all_seconds = time.perf_counter() - start
        start = time.perf_counter()
        for policy in policy_ids:
            kb.as_of(policy, "2024-08-01"), kb.as_of(policy, "2025-12-01")
        figures.append(
            Figure(
                f"{label} kb diff --all ({compared:,} policies)",
                all_seconds,
                "s",
                "as-of of every policy on both dates",
                time.perf_counter() - start,
            )
        )
    figures += canned_query_figures(database, policy_ids, label, max(runs // 10, 20))
    raw_size = (folder / "raw.sqlite").stat().st_size / 1e6
    figures.append(
        Figure(
            f"{label} knowledge-base file size",
            database.stat().st_size / 1e6,
            "MB",
            "the same rows inserted raw",
            raw_size,
        )
    )
    figures.append(
        Figure(f"{label} peak memory of the load (parent + workers)", rss_loaded, "MB", "peak before it", rss_before)
    )
    figures.append(_reload_figure(folder, paths[0], label))
    return figures


def _reload_figure(folder: Path, document: Path, label: str, repeats: int = 3) -> Figure:
    """A load of one changed document into the whole knowledge base, which stages a copy of the
    file (``kb.store.staging``), beside copying the file alone; best of ``repeats`` each."""
    database, copy, changed = folder / "kb.sqlite", folder / "copy.sqlite", folder / "changed.txt"
    text = document.read_text(encoding="utf-8")
    loads, copies = [], []
    with KnowledgeBase(database, changes=folder / "changes") as kb:
        for repeat in range(repeats):
            start = time.perf_counter()
            copy_database(database, copy)
            copies.append(time.perf_counter() - start)
            copy.unlink()
            reviewed = text.replace("\nDescription\n\n", f"\nDescription\n\nReviewed again ({repeat}). ", 1)
            changed.write_text(reviewed, encoding="utf-8")
            start = time.perf_counter()
            (report,) = kb.load([changed])
            loads.append(time.perf_counter() - start)
            if not report.rows_added:
                raise RuntimeError("the changed document stored nothing new")
    return Figure(
        f"{label} load one changed document (staged copy)",
        min(loads),
        "s",
        "copying the knowledge-base file",
        min(copies),
    )


def _raw_insert_rate(kb: KnowledgeBase, path: Path) -> float:
    """Rows/s of sqlite-utils inserting the loaded rows, as they are, into an empty file."""
    import sqlite_utils

    path.unlink(missing_ok=True)
    raw = sqlite_utils.Database(path)
    count = 0
    elapsed = 0.0
    for table in (
        "criterion",
        "duration",
        "cross_reference",
        "statement",
        "code",
        "reference",
        "dosing",
        "unknown",
        "version",
        "revision",
        "change_clause",
    ):
        cursor = kb.connection.execute(f"SELECT * FROM {table}")
        while batch := [dict(row) for row in cursor.fetchmany(20_000)]:
            start = time.perf_counter()
            with raw.conn:
                raw[table].insert_all(batch, batch_size=1000)
            elapsed += time.perf_counter() - start
            count += len(batch)
    return count / elapsed


def canned_query_figures(database: Path, policy_ids: list[str], label: str, runs: int) -> list[Figure]:
    """Each canned query through Datasette's own client, beside its SQL run directly."""
    import asyncio
    import sqlite3

    from datasette.app import Datasette

    metadata = json.loads(METADATA.read_text(encoding="utf-8"))
    queries = metadata["databases"]["kb"]["queries"]
    site = Datasette(immutables=[str(database)], metadata=metadata)
    direct = sqlite3.connect(f"{database.resolve().as_uri()}?immutable=1", uri=True)
    pick = random.Random(11)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(site.invoke_startup())
    figures = []
    for name, fixed in CANNED_PARAMETERS.items():
        params = [{"policy": pick.choice(policy_ids), "known_at": "", **fixed} for _ in range(runs)]
        sql = queries[name]["sql"]
        used = [{k: v for k, v in p.items() if f":{k}" in sql} for p in params]

        def through_datasette(i: int, name: str = name, used: list[dict[str, str]] = used) -> object:
            query = "&".join(f"{k}={v}" for k, v in used[i].items())
            return loop.run_until_complete(site.client.get(f"/kb/{name}.json?{query}&_shape=array"))

        def directly(i: int, sql: str = sql, used: list[dict[str, str]] = used) -> object:
            return direct.execute(sql, used[i]).fetchall()

        figures.append(
            latency(f"{label} canned query {name}", through_datasette, "its SQL, run directly", directly, runs)
        )
    loop.close()
    direct.close()
    return figures


def _peak_rss_mb() -> float:
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return (own + workers) / 1024
