"""Issue 23, points 7 and 8 (diffs): a diff by version labels carries each end's effective date
under every rule, in every format, and the markdown redline keeps its spaces.

Expected dates are read from the revision log: 4Q 2024 annual review, Date 07.11.24, P&T 11.24
(2024-11-01 under pt-month-start, 2024-07-11 under revision-date); RT4, Date 05.13.24, no P&T
date (2024-05-13 under both).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import jsonschema
import pytest

POLICY = "CP.PHAR.359"
SCHEMA = json.loads((Path(__file__).parents[1] / "kb" / "schemas" / "diff.schema.json").read_text())
V2024_05 = "V2024-05 takes effect 2024-05-13 under every rule"
V2024_11 = "V2024-11 takes effect 2024-11-01 under pt-month-start (used here), 2024-07-11 under revision-date"


@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
def test_every_readable_format_states_each_ends_effective_dates(run, fmt):
    out = run("diff", POLICY, "V2024-05", "V2024-11", "--format", fmt)
    assert V2024_05 in out and V2024_11 in out


def test_json_carries_each_rules_effective_date_per_end(run):
    data = json.loads(run("diff", POLICY, "V2024-05", "V2024-11", "--format", "json"))
    jsonschema.validate(data, SCHEMA)
    assert data["from"]["version"]["effective_dates"] == {"pt-month-start": "2024-05-13", "revision-date": "2024-05-13"}
    assert data["to"]["version"]["effective_dates"] == {"pt-month-start": "2024-11-01", "revision-date": "2024-07-11"}


def test_csv_rows_carry_each_ends_effective_dates(run):
    rows = list(csv.DictReader(io.StringIO(run("diff", POLICY, "V2024-05", "V2024-11", "--format", "csv"))))
    assert rows and all((r["from_effective"], r["to_effective"]) == (V2024_05, V2024_11) for r in rows)


def test_markdown_keeps_the_space_before_an_insertion_and_says_each_change_once(run):
    markdown = run("diff", POLICY, "V2024-05", "V2024-11", "--format", "markdown")
    # the 07.11.24 row: Commercial "6 months" became "6 months or to the member's renewal date ..."
    assert "6 months **or to the member's renewal date, whichever is longer** (up to 6 cycles total)" in markdown
    assert "monthsor" not in markdown and "months**or" not in markdown
    removed = next(line for line in markdown.splitlines() if line.startswith("| removed |"))
    assert removed.count("Prescribed as induction therapy") == 1
