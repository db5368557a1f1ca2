"""datasette_metadata.json describes every table the knowledge base has."""

from __future__ import annotations

import json
from pathlib import Path

from sqlmodel import SQLModel

import kb.store.schema  # noqa: F401  (registers the tables)

METADATA = Path(__file__).resolve().parents[1] / "datasette_metadata.json"


def test_every_table_is_described():
    tables = json.loads(METADATA.read_text(encoding="utf-8"))["databases"]["kb"]["tables"]
    assert set(SQLModel.metadata.tables) == set(tables)
    assert all(len(entry["description"]) > 30 for entry in tables.values())


def test_every_column_is_described():
    tables = json.loads(METADATA.read_text(encoding="utf-8"))["databases"]["kb"]["tables"]
    for name, table in SQLModel.metadata.tables.items():
        described = tables[name].get("columns", {})
        assert {c.name for c in table.columns} == set(described), name
        assert all(len(text) > 8 for text in described.values()), name


def test_canned_queries_have_titles_descriptions_and_sql():
    queries = json.loads(METADATA.read_text(encoding="utf-8"))["databases"]["kb"]["queries"]
    assert {
        "criteria_in_force",
        "durations_in_force",
        "codes_in_force",
        "cross_references_in_force",
        "version_timeline",
        "revision_log",
        "changes_between",
    } <= set(queries)
    assert all(q["title"] and len(q["description"]) > 40 and q["sql"].strip() for q in queries.values())
