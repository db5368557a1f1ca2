"""A document of the template is never refused for its layout (issue 22, point 3).

Each variant is made in the test from a document of the template, in both text forms: the
bundled policy (lines) and an unseen document (the one-line flattened form, scored against its
hand-written key). A mark and a state note on a criteria heading, a variant wording of a section
name, a heading a page break split: the document loads, every field of the key is read right,
and what is uncertain is flagged suspect, with its reason, in a short report.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.errors import SourceError
from kb.model import PolicyDocument, Statement
from kb.surfaces.cli import cli
from loaders.centene import load_text
from tests.answer_key_scoring import score
from tests.conftest import BUNDLED, UNSEEN

NEVADA = (
    "*For members in Nevada, medical management techniques, including quantity management, "
    "beyond step therapy is not allowed."
)
KEY = json.loads((UNSEEN / "keys" / "CP.PHAR.208.json").read_text(encoding="utf-8"))
FLAT = (UNSEEN / KEY["file"]).read_text(encoding="utf-8")
LINES = BUNDLED.read_text(encoding="utf-8")
INITIAL, CONTINUED = "I. Initial Approval Criteria", "II. Continued Therapy"
PAGE = "CLINICAL POLICY Vedolizumab Page 3 of 9"

FLAT_VARIANTS = {
    "mark and state note on both criteria headings": (
        ((f"{INITIAL} ", f"{INITIAL}* {NEVADA} "), (f"{CONTINUED} ", f"{CONTINUED}* {NEVADA} ")),
        [],
    ),
    "mark with no note": (((f"{INITIAL} ", f"{INITIAL}† "),), ["footnote"]),
    "initial authorization": (((INITIAL, "I. Initial Authorization Criteria"),), ["heading"]),
    "continuation of therapy": (((CONTINUED, "II. Continuation of Therapy"),), ["heading"]),
    "renewal criteria": (((CONTINUED, "II. Renewal Criteria"),), ["heading"]),
    "page break inside the section I heading": (((INITIAL, f"I. Initial Approval {PAGE} Criteria"),), []),
    "page break inside the section II heading": (((CONTINUED, f"II. Continued {PAGE} Therapy"),), []),
}


def _edit(text: str, edits: tuple[tuple[str, str], ...]) -> str:
    for old, new in edits:
        assert old in text
        text = text.replace(old, new, 1)
    return text


def _notes(document: PolicyDocument) -> dict[str, str | None]:
    return {r.key: r.text for r in document.records if isinstance(r, Statement) and r.kind == "footnote"}


@pytest.mark.parametrize("variant", FLAT_VARIANTS)
def test_a_heading_layout_variant_of_the_flattened_form_is_read_right(variant: str):
    edits, doubts = FLAT_VARIANTS[variant]
    document = load_text(KEY["file"], _edit(FLAT, edits))
    result = score(document, KEY)
    assert not result.wrong, f"{result}\n" + "\n".join(result.wrong)
    assert [s.kind for s in document.suspects] == doubts
    assert document.unparsed == []


def test_a_state_note_under_a_marked_heading_is_the_sections_footnote():
    edits = FLAT_VARIANTS["mark and state note on both criteria headings"][0]
    notes = _notes(load_text(KEY["file"], _edit(FLAT, edits)))
    assert notes["footnote:I*"] == notes["footnote:II*"] == NEVADA[1:]


def test_a_variant_wording_is_flagged_with_its_reason():
    document = load_text(KEY["file"], _edit(FLAT, ((CONTINUED, "II. Continuation of Therapy"),)))
    assert [s.reason for s in document.suspects] == ["a section II heading in words the template does not use"]
    assert "II. Continuation of Therapy" in document.suspects[0].text


LINES_INITIAL = "I. Initial Approval Criteria**A."
LINE_VARIANTS = {
    "mark and state note on the heading's line": (f"I. Initial Approval Criteria* {NEVADA}\n\n**A.", []),
    "mark, the note on the next line": (f"I. Initial Approval Criteria*\n\n{NEVADA}\n\n**A.", []),
    "page header inside the heading": (
        "I. Initial Approval\n\nCLINICAL POLICY\n\nInotuzumab Ozogamicin\n\nCriteria**A.",
        [],
    ),
    "variant wording": ("I. Initial Authorization Criteria**A.", ["heading"]),
}


def _criteria(document: PolicyDocument) -> list[tuple[str, str | None]]:
    return [(r.key, getattr(r, "text", None)) for r in document.records if r.KIND in ("criterion", "duration")]


@pytest.mark.parametrize("variant", LINE_VARIANTS)
def test_a_heading_layout_variant_of_the_lines_form_reads_the_same_criteria(variant: str):
    new, doubts = LINE_VARIANTS[variant]
    document = load_text(BUNDLED.name, LINES.replace(LINES_INITIAL, new, 1))
    assert _criteria(document) == _criteria(load_text(BUNDLED.name, LINES))
    assert [s.kind for s in document.suspects] == doubts
    assert document.unparsed == []
    if NEVADA in new:
        assert _notes(document)["footnote:I*"] == NEVADA[1:]


def test_a_text_that_is_cut_off_before_section_ii_is_still_refused():
    cut = LINES[: LINES.index(CONTINUED)]
    with pytest.raises(SourceError, match=re.escape("a 'II. Continued Therapy' section")):
        load_text("cut.txt", cut)


def test_a_form_feed_at_each_page_break_is_layout_not_a_refusal():
    """pdftotext ends each page with a form feed (U+000C): a page break, read as a line break."""
    paged = LINES.replace("\n\nCLINICAL POLICY\n", "\n\fCLINICAL POLICY\n")
    assert paged != LINES
    document = load_text(BUNDLED.name, paged)
    assert _criteria(document) == _criteria(load_text(BUNDLED.name, LINES))
    assert document.suspects == [] and document.unparsed == []


def test_a_misspelt_accessed_date_leaves_the_date_unknown_and_flagged():
    text = LINES.replace("Accessed July 15, 2025.", "Accessed Jluy 15, 2025.", 1)
    document = load_text(BUNDLED.name, text)
    besponsa = next(r for r in document.records if r.KIND == "reference" and r.ordinal == 1)
    assert besponsa.url == "https://besponsa.pfizerpro.com" and besponsa.accessed is None
    assert [(s.kind, s.span.first) for s in document.suspects] == [("accessed date", 135)]


def test_a_note_between_an_indication_heading_and_its_first_item_is_reported_not_refused():
    note = "Note: for members in Nevada, step therapy applies only as state law allows."
    text = LINES.replace("1. Diagnosis of B-cell ALL;", f"{note}\n\n1. Diagnosis of B-cell ALL;", 1)
    document = load_text(BUNDLED.name, text)
    assert _criteria(document) == _criteria(load_text(BUNDLED.name, LINES))
    assert [block.text for block in document.unparsed] == [note]


def test_the_suspect_report_of_a_load_stays_short(tmp_path: Path):
    """Twenty doubted lines (list items and references): twelve are printed one by one, the
    rest counted by kind."""
    lines = LINES.splitlines(keepends=True)
    criteria = [n for n, line in enumerate(lines) if re.match(r"(?:\d+|[a-z]+)\. |- ", line)][:20]
    for n in criteria:
        lines[n] = lines[n].replace(" ", " \x01", 1)
    path = tmp_path / BUNDLED.name
    path.write_text("".join(lines), encoding="utf-8")
    db, changes = tmp_path / "kb.sqlite", tmp_path / "changes"
    changes.mkdir()
    result = CliRunner().invoke(
        cli, ["load", str(path), "--db", str(db), "--changes", str(changes), "--allow-control-characters"]
    )
    assert result.exit_code == 0, result.output
    printed = [line for line in result.output.splitlines() if "suspect, line" in line]
    assert len(criteria) == 20 and len(printed) == 12
    assert "... and 8 more suspect passages (8 character): see coverage_block" in result.output


RUN_ON = {
    "references": ("VII. References\n\n- Besponsa", "VII. References - Besponsa"),
    "product availability": ("VI. Product Availability\n\nSingle", "VI. Product Availability Single"),
    "non-covered": (
        "III. Diagnoses/Indications for which coverage is NOT authorized:\n\n- A.",
        "III. Diagnoses/Indications for which coverage is NOT authorized: - A.",
    ),
    "appendices": ("IV. Appendices/General Information\n\nAppendix A", "IV. Appendices/General Information Appendix A"),
}


def _read(document: PolicyDocument) -> list[tuple[str, str, dict]]:
    """Each record's kind, key and content but its raw text (the joined line is the heading's too)."""
    return [(r.KIND, r.key, {k: v for k, v in r.content().items() if k != "raw_text"}) for r in document.records]


@pytest.mark.parametrize("variant", RUN_ON)
def test_a_sections_first_text_run_onto_its_heading_line_is_read(variant: str):
    """A page break can join a heading and the text after it on one line: nothing is lost."""
    old, new = RUN_ON[variant]
    document = load_text(BUNDLED.name, _edit(LINES, ((old, new),)))
    assert _read(document) == _read(load_text(BUNDLED.name, LINES))
    assert document.suspects == [] and document.unparsed == []
