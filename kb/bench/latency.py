"""What a person waits on: each ``kb`` command timed as a fresh process, beside the start-up of a
Python that imports what any command needs (``sqlite3``, ``json``, ``click``), in the same run.

Runs of a figure and of its baseline are interleaved; each figure is the median of its runs.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from kb.bench.harness import Figure
from kb.surfaces.api import KnowledgeBase

BASELINE = "python -c 'import sqlite3, json, click'"
CODED_REQUEST = {
    "request_id": "latency-coded",
    "policy": "CP.PHAR.359",
    "date_of_service": "2025-12-01",
    "request_type": "initial",
    "facts": {
        "line_of_business": "Commercial",
        "age_years": 30,
        "diagnosis": {"system": "ICD-10-CM", "code": "C91.00"},
        "prescriber_specialty": {"system": "NUCC", "code": "207RH0003X"},
    },
}
"""A request whose diagnosis is an ICD-10-CM code and whose prescriber is a NUCC taxonomy code."""


def _seconds(command: list[str]) -> float:
    """Wall time of one fresh process running ``command``; a failure is an error, not a figure."""
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def command_figure(name: str, arguments: list[str], runs: int) -> Figure:
    """Median wall time of ``python -m kb ARGUMENTS`` beside the import baseline, runs interleaved."""
    measured, reference = [], []
    for _ in range(runs):
        measured.append(_seconds([sys.executable, "-m", "kb", *arguments]))
        reference.append(_seconds([sys.executable, "-c", "import sqlite3, json, click"]))
    return Figure(name, statistics.median(measured), "s", BASELINE, statistics.median(reference))


def cli_figures(folder: Path, runs: int) -> list[Figure]:
    """``kb --help``, ``kb asof`` and ``kb evaluate`` of a coded request, on the bundled policy
    loaded into ``folder``."""
    database = folder / "latency.sqlite"
    with KnowledgeBase(database) as kb:
        kb.load()
    request = folder / "coded-request.json"
    request.write_text(json.dumps(CODED_REQUEST), encoding="utf-8")
    db = ["--db", str(database)]
    return [
        command_figure("kb --help", ["--help"], runs),
        command_figure("kb asof CP.PHAR.359 2024-08-01", ["asof", "CP.PHAR.359", "2024-08-01", *db], runs),
        command_figure("kb evaluate, ICD-10-CM and NUCC codes", ["evaluate", str(request), *db], runs),
    ]
