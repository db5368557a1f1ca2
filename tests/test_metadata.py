"""datasette_metadata.json describes every table the knowledge base has."""

from __future__ import annotations

import json
from pathlib import Path

from sqlmodel import SQLModel

import kb.schema  # noqa: F401  (registers the tables)

METADATA = Path(__file__).resolve().parents[1] / "datasette_metadata.json"


def test_every_table_is_described():
    tables = json.loads(METADATA.read_text(encoding="utf-8"))["databases"]["kb"]["tables"]
    assert set(SQLModel.metadata.tables) == set(tables)
    assert all(len(entry["description"]) > 30 for entry in tables.values())
