"""The coverage of each loaded document: how much was read, recognised as boilerplate, not
understood (unparsed) or read with doubt (suspect, with the reason), and the passages themselves.

The figures are read from whatever ``<status>_lines`` / ``<status>_chars`` columns
``source_document`` has, so a status the loader adds shows up without a change here.
"""

from __future__ import annotations

import re
from pathlib import PurePath
from typing import Any

from kb.store.tree import CriteriaTree
from kb.surfaces.api import KnowledgeBase

PAGE = re.compile(r"\bPage (\d+) of \d+\b")
"""The page number a page header prints ("CLINICAL POLICY Eltrombopag Page 2 of 12")."""
UNITS = {"_lines": "lines", "_chars": "characters"}
STATUS_ORDER = ("parsed", "boilerplate", "unparsed", "suspect")


def _figures(document: dict[str, Any]) -> tuple[list[str], list[tuple[str, dict[str, int]]]]:
    """The statuses a document has figures for, and its figures per unit."""
    figures: dict[str, dict[str, int]] = {}
    for column, value in document.items():
        for suffix, unit in UNITS.items():
            if column.endswith(suffix) and column != "line_count":
                figures.setdefault(unit, {})[column.removesuffix(suffix)] = value
    statuses = {status for by_status in figures.values() for status in by_status}
    ordered = [s for s in STATUS_ORDER if s in statuses] + sorted(statuses - set(STATUS_ORDER))
    return ordered, list(figures.items())


def page_starts(kb: KnowledgeBase, sha256: str) -> list[tuple[int, int]]:
    """``(first line, page number)`` of each page header the load recognised in a document."""
    rows = kb.connection.execute(
        "SELECT first_line, text FROM coverage_block WHERE document_sha256 = ? AND kind = 'page header'"
        " ORDER BY first_line",
        (sha256,),
    )
    return [(row["first_line"], int(match.group(1))) for row in rows if (match := PAGE.search(row["text"]))]


def page_of(kb: KnowledgeBase, sha256: str, line: int) -> int | None:
    """The page of the document holding ``line``: that of the last page header at or before it (None:
    the document prints no page numbers before it)."""
    page = None
    for first_line, number in page_starts(kb, sha256):
        if first_line > line:
            break
        page = number
    return page


def criteria_places(kb: KnowledgeBase, policy: str, version: str | None, sha256: str) -> list[tuple[int, int, str]]:
    """``(first line, last line, printed place)`` of each criterion the document's version read from it."""
    if version is None:
        return []
    answer = kb.as_of(policy, kb.resolve(policy, version))
    tree = CriteriaTree(answer.criteria())
    return [
        (row["first_line"], row["last_line"], tree.where(row["item_id"]))
        for row in answer.criteria()
        if row.get("document_sha256") == sha256 and row.get("first_line") is not None
    ]


def place_of(places: list[tuple[int, int, str]], first_line: int) -> str | None:
    """The criterion a passage starting on ``first_line`` belongs to, as printed (II.A.7)."""
    found = [place for first, last, place in places if first <= first_line <= (last or first)]
    return found[-1] if found else None


def documents(kb: KnowledgeBase, policy: str) -> list[dict[str, Any]]:
    """A policy's documents, newest first, each with its figures and its passages by status."""
    found = []
    rows = kb.connection.execute(
        "SELECT d.*, (SELECT label FROM version v WHERE v.document_sha256 = d.sha256 AND v.superseded_at IS NULL)"
        " AS version FROM source_document d WHERE d.policy_id = ? ORDER BY d.last_review DESC, d.loaded_at DESC",
        (policy,),
    ).fetchall()
    for row in rows:
        document = {k: v for k, v in dict(row).items() if k not in ("text", "reading")}
        statuses, figures = _figures(document)
        blocks = [
            dict(b)
            for b in kb.connection.execute(
                "SELECT * FROM coverage_block WHERE document_sha256 = ? ORDER BY first_line, id", (row["sha256"],)
            )
        ]
        by_status: dict[str, list[dict[str, Any]]] = {s: [] for s in ("suspect", "unparsed", "boilerplate")}
        places = criteria_places(kb, policy, document.get("version"), row["sha256"])
        for block in blocks:
            block["page"] = page_of(kb, row["sha256"], block["first_line"])
            block["item"] = place_of(places, block["first_line"]) if block["status"] != "boilerplate" else None
            by_status.setdefault(block["status"], []).append(block)
        document["name"] = PurePath(document["path"]).name
        found.append({**document, "statuses": statuses, "figures": figures, "blocks": list(by_status.items())})
    return found
