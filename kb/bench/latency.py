"""What a person waits on: each ``kb`` command timed as a fresh process, beside the start-up of a
Python that imports what any command needs (``sqlite3``, ``json``, ``click``), in the same run.

Runs of a figure and of its baseline are interleaved; each figure is the median of its runs.
"""

from __future__ import annotations

import json
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
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
    """``kb --help``, ``kb asof`` and ``kb evaluate`` of a coded request, and the first CDS hook after
    ``kb serve`` starts, on the bundled policy loaded into ``folder``."""
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
        first_hook_figure(folder, runs),
    ]


HOOK = Path(__file__).resolve().parents[1] / "data" / "bench" / "besponsa-order-sign.json"
"""An order-sign request for Besponsa, as an EHR sends it (patient, coverage and prescriber prefetched)."""


def _post(url: str, body: bytes) -> float:
    """Wall time of one hook request; anything but 200 is an error, not a figure."""
    request = urllib.request.Request(url, data=body, headers={"content-type": "application/json"})
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{url} answered {response.status}")
    return time.perf_counter() - start


def _serve(database: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``kb serve`` on a free loopback port, once it answers; the process and the service's URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "kb", "serve", "--db", str(database), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{base}/cds-services", timeout=5).read()
            return server, f"{base}/cds-services/policy-as-data-order-sign"
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("kb serve did not answer within 120 s")


def first_hook_figure(folder: Path, runs: int) -> Figure:
    """The first hook request after ``kb serve`` has started, beside the warm ones after it
    (medians over ``runs`` fresh servers)."""
    database = folder / "latency.sqlite"
    body = HOOK.read_bytes()
    first, warm = [], []
    for _ in range(runs):
        server, url = _serve(database)
        try:
            first.append(_post(url, body))
            warm.append(statistics.median(_post(url, body) for _ in range(5)))
        finally:
            server.terminate()
            server.wait()
    return Figure(
        "first CDS hook after kb serve starts",
        statistics.median(first),
        "s",
        "a warm hook request",
        statistics.median(warm),
    )
