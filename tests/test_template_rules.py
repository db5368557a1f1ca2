"""Rules of the template, each shown on a real corpus document (expected values read from its
text) and, where the corpus has no instance, on a small constructed passage."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.errors import SourceError
from kb.model import Code, Criterion, CrossReference, Duration, Logic, PolicyDocument, Reference
from kb.surfaces.api import KnowledgeBase
from kb.surfaces.cli import cli
from loaders.centene import load_path, load_text
from loaders.flattened import repair_spacing
from loaders.logic import footnote_markers, logic_of
from loaders.source import ReadOptions
from tests.conftest import BUNDLED, CORPUS

CENTENE = CORPUS / "centene"
needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the policy corpus is not at {CORPUS}")


def _load(name: str) -> PolicyDocument:
    return load_path(next(CENTENE.glob(f"{name}_*.txt")))


def _items(document: PolicyDocument) -> dict[str, Criterion]:
    return {c.item_id: c for c in document.of_kind(Criterion)}


def _lengths(document: PolicyDocument, section: str, indication: str, line: str) -> set:
    return {
        (d.condition, d.days or d.weeks or d.months, "days" if d.days else "weeks" if d.weeks else "months")
        for d in document.of_kind(Duration)
        if (d.section, d.indication, d.line_of_business) == (section, indication, line)
    }


@needs_corpus
def test_lines_of_business_are_the_headers_own_whatever_the_link_text():
    # CP.PHAR.554: "Line of Business: HIM, Medicaid Revision Log See Important Reminder ..."
    document = _load("CP.PHAR.554")
    assert document.header.lines_of_business == ("HIM", "Medicaid")
    assert {d.line_of_business for d in document.of_kind(Duration)} == {"HIM", "Medicaid"}


def test_a_header_without_lines_of_business_stores_them_unknown_and_says_so():
    # the bundled policy's durations name their own lines ("Commercial – ...", "HIM/Medicaid – ...")
    bundled = load_text(
        "no-lob.txt", BUNDLED.read_text(encoding="utf-8").replace("Line of Business: Commercial, HIM, Medicaid", "")
    )
    assert bundled.header.lines_of_business == ()
    assert {d.line_of_business for d in bundled.of_kind(Duration)} == {"Commercial", "HIM", "Medicaid"}
    assert [s.reason for s in bundled.suspects] == ["no line of business stated: stored as unknown"]


@needs_corpus
def test_durations_naming_no_line_of_business_in_a_policy_stating_none_are_unknown():
    # CP.PHAR.554's durations ("Approval duration: 6 months") name no line of business
    text = next(CENTENE.glob("CP.PHAR.554_*.txt")).read_text(encoding="utf-8")
    document = load_text("554-no-lob.txt", text.replace("Line of Business: HIM, Medicaid ", ""))
    assert document.header.lines_of_business == ()
    assert {d.line_of_business for d in document.of_kind(Duration)} == {"unknown"}


@needs_corpus
def test_numbered_sub_items_nest_under_a_roman_item():
    # CP.PHAR.554 I.A.1.a.iii "(MALT) (1 or 2): 1) Gastric MALT lymphoma, 2) Nongastric MALT lymphoma"
    items = _items(_load("CP.PHAR.554"))
    assert items["I.A.1.a.iii"].logic is Logic.ANY and items["I.A.1.a.iii"].text.endswith("(MALT) (1 or 2):")
    assert [(items[k].label, items[k].text) for k in ("I.A.1.a.iii.1", "I.A.1.a.iii.2")] == [
        ("1)", "Gastric MALT lymphoma,"),
        ("2)", "Nongastric MALT lymphoma,"),
    ]


@needs_corpus
def test_stored_labels_keep_the_documents_own_style(tmp_path: Path):
    # CP.PMN.219 I.A.3.b.ii "Member meets one of the following (a, b, or c):* a) ... b) ... c) ..."
    with KnowledgeBase(tmp_path / "kb.sqlite") as kb:
        kb.load([next(CENTENE.glob("CP.PMN.219_*.txt"))])
        labels = dict(
            kb.connection.execute(
                "SELECT item_id, label FROM criterion WHERE item_id LIKE 'I.A.3.b.ii.%' AND superseded_at IS NULL"
            ).fetchall()
        )
    assert labels == {"I.A.3.b.ii.a": "a)", "I.A.3.b.ii.b": "b)", "I.A.3.b.ii.c": "c)"}


@needs_corpus
def test_bare_label_hints_give_the_logic():
    items = _items(_load("CP.PHAR.554"))
    assert items["I.A.1.a"].logic is Logic.ANY  # "Marginal zone lymphoma (MZL) (i, ii, or iii):"
    assert _items(_load("CP.PHAR.271"))["I.A.5"].logic is Logic.ALL  # "Dose does not exceed (a and b):"


@pytest.mark.parametrize(
    ("text", "logic", "count"),
    [
        ("Member has none of the following (a or b):", Logic.NONE, None),
        ("Empaveli is not prescribed concurrently with either of the following (a and b):", Logic.NONE, None),
        ("Member meets two of the following (a, b, or c):", Logic.AT_LEAST, 2),
        ("Member meets at least 3 of the following:", Logic.AT_LEAST, 3),
        ("Member meets one or more of the following:", Logic.ANY, None),
        ("Other diagnoses/indications (must meet 1 or 2):", Logic.ANY, None),
        ("If request is for a dose increase, request meets both (a and b):", Logic.ALL, None),
        ("Disease is relapsed or refractory;", None, None),
    ],
)
def test_logic_words_of_the_template(text: str, logic: Logic | None, count: int | None):
    reading = logic_of(text)
    assert (reading.logic, reading.count) == (logic, count)


def test_one_of_inside_none_of_never_matches():
    assert logic_of("Member has none of the following:").logic is Logic.NONE
    assert logic_of("Phenomenone of the following").logic is None


def test_words_and_label_hint_that_disagree_are_doubted():
    reading = logic_of("Member meets one of the following (a and b):")
    assert reading.logic is Logic.ANY and "label hint" in (reading.doubt or "")


@needs_corpus
def test_durations_in_days_and_by_condition():
    # CP.PMN.219: "Approval duration: Duration of request or up to 7 days of total treatment, whichever is less"
    assert _lengths(_load("CP.PMN.219"), "I", "A", "HIM") == {(None, 7, "days")}
    # CP.PHAR.180 II.A: "Hepatitis C-associated thrombocytopenia – 6 months, All other indications – 12 months"
    assert _lengths(_load("CP.PHAR.180"), "II", "A", "Medicaid") == {
        ("Hepatitis C-associated thrombocytopenia", 6, "months"),
        ("All other indications", 12, "months"),
    }
    # CP.PHAR.215: "3 months for surgical/acute bleeding or 6 months for prophylaxis & ITI
    # (12 months for prophylaxis for HIM Texas)": the third length holds for HIM only
    factor = _load("CP.PHAR.215")
    assert ("prophylaxis for HIM Texas", 12, "months") in _lengths(factor, "I", "A", "HIM")
    assert _lengths(factor, "I", "A", "Commercial") == {
        ("surgical/acute bleeding", 3, "months"),
        ("prophylaxis & ITI", 6, "months"),
    }


def test_lengths_without_conditions_to_tell_them_apart_are_doubted():
    text = BUNDLED.read_text(encoding="utf-8").replace(
        "HIM/Medicaid – 6 months (", "HIM/Medicaid – 3 months or 6 months ("
    )
    document = load_text("two-lengths.txt", text)
    doubted = [s for s in document.suspects if s.kind == "duration"]
    assert len(doubted) == 2 and "no single length" in doubted[0].reason
    assert {d.months for d in document.of_kind(Duration) if d.line_of_business == "HIM"} == {None}


@needs_corpus
def test_not_otherwise_classified_code_descriptions_come_apart():
    # CP.PMN.219: "Injection, lefamulin, 1 mg Unclassified drugs or biologicals Prescription drug, oral, ..."
    assert [c.description for c in _load("CP.PMN.219").of_kind(Code)] == [
        "Injection, lefamulin, 1 mg",
        "Unclassified drugs or biologicals",
        "Prescription drug, oral, non chemotherapeutic, nos",
    ]
    assert len(_load("CP.PHAR.271").of_kind(Code)) == 2  # "Unclassified biologics Unclassified drugs or biologicals"


@needs_corpus
def test_numbers_urls_and_markers_read_as_printed():
    assert "< 30,000/µL" in _items(_load("CP.PHAR.180"))["I.A.4.a"].text
    assert _items(_load("CP.PMN.219"))["I.A.4.a"].text.startswith("1,200 mg PO")
    assert _load("CP.PHAR.554").of_kind(Reference)[0].url == (
        "https://dailymed.nlm.nih.gov/dailymed/fda/fdaDrugXsl.cfm?setid=58a3c995-5ad6-465d-8437-5970c9088213&"
    )
    items = _items(_load("CP.PHAR.310"))
    assert (items["I.A.4.a.i.a"].footnote_marker, items["I.A.4.a.i.a"].footnote_text) == (
        "*",
        "Prior authorization may be required.",
    )
    assert items["I.B.4.b"].footnote_marker == "* **"


def test_marker_inside_a_token_is_no_footnote():
    assert footnote_markers("Documentation that member does not have a CYP2C9*3/*3 genotype") == (
        None,
        "Documentation that member does not have a CYP2C9*3/*3 genotype",
    )


@needs_corpus
def test_continuity_of_care_is_not_a_referral():
    # CP.PHAR.271 II.A.1.b "(refer to state specific addendums for CC. PHARM. 03A and CC. PHARM. 03B)"
    refs = [r for r in _load("CP.PHAR.271").of_kind(CrossReference) if r.policy_ref.startswith("CC.")]
    assert {(r.policy_ref, r.role, r.line_of_business) for r in refs} == {
        ("CC.PHARM.03A", "continuity of care", "all"),
        ("CC.PHARM.03B", "continuity of care", "all"),
    }


def test_text_after_the_important_reminder_is_suspect_not_boilerplate():
    filler = "\n\nLorem ipsum dolor sit amet. " * 2000
    document = load_text("filler.txt", BUNDLED.read_text(encoding="utf-8") + filler)
    counts = document.character_counts()
    assert counts["suspect"] >= 2000 * len("Lorem ipsum dolor sit amet.") and counts["boilerplate"] < 10_000
    assert {s.kind for s in document.suspects} == {"after reminder"}


def test_a_policy_number_ending_a_sentence_before_the_log_date_comes_apart():
    assert repair_spacing("per HIM. PA. 04. 07. 20. 21 11. 21 next") == "per HIM.PA.04. 07.20.21 11.21 next"


@pytest.mark.parametrize(
    ("cut", "missing"),
    [
        ("II. Continued Therapy", "a 'II. Continued Therapy' section"),
        ("Reviews, Revisions, and Approvals", "the revision-log table"),
    ],
)
def test_a_document_without_what_the_template_requires_is_refused(cut: str, missing: str):
    text = BUNDLED.read_text(encoding="utf-8")
    with pytest.raises(SourceError, match=missing):
        load_text("cut.txt", text[: text.index(cut)])


def test_control_characters_refuse_the_file_unless_allowed(tmp_path: Path):
    path = tmp_path / "nul.txt"
    path.write_text(
        BUNDLED.read_text(encoding="utf-8").replace("Diagnosis of B-cell ALL", "Diagnosis\x00 of B-cell ALL")
    )
    with pytest.raises(SourceError, match=r"nul.txt:33: expected text without control characters.*U\+0000"):
        load_path(path)
    document = load_path(path, ReadOptions(allow_control_characters=True))
    assert [(s.span.first, s.kind) for s in document.suspects] == [(33, "character")]


def test_a_file_over_the_size_limit_is_refused_with_the_limit_named(tmp_path: Path):
    path = tmp_path / "big.txt"
    path.write_text(BUNDLED.read_text(encoding="utf-8"))
    with pytest.raises(SourceError, match=r"at most 1,000 bytes .*--max-bytes"):
        load_path(path, ReadOptions(max_bytes=1000))


def test_kb_load_prints_and_stores_each_suspect_passage(tmp_path: Path):
    path = tmp_path / "no-lob.txt"
    path.write_text(BUNDLED.read_text(encoding="utf-8").replace("Line of Business: Commercial, HIM, Medicaid", ""))
    db = str(tmp_path / "kb.sqlite")
    result = CliRunner().invoke(cli, ["load", str(path), "--db", db])
    assert result.exit_code == 0, result.output
    assert "suspect, line 3 (line of business): no line of business stated: stored as unknown" in result.output
    title = "Clinical Policy: Inotuzumab Ozogamicin (Besponsa)"  # the line doubted: no header line states them
    assert f", 0 unparsed (0.00%), {len(title)} suspect" in result.output
    with KnowledgeBase(db) as kb:
        stored = kb.connection.execute("SELECT status, reason FROM coverage_block WHERE status = 'suspect'").fetchall()
        lines = kb.connection.execute("SELECT lines_of_business FROM policy").fetchone()[0]
    assert [tuple(row) for row in stored] == [("suspect", "no line of business stated: stored as unknown")]
    assert lines == "[]"


@pytest.mark.parametrize(
    ("old", "new", "kind"),
    [
        # two log rows run together: the first row's dates end up inside the second's text
        (
            "references reviewed and updated.\t06.28.21\t11.21\n4Q 2022",
            "references reviewed and updated. 06.28.21 11.21 4Q 2022",
            "revision log",
        ),
        # a footnote's note printed on the item's line
        (
            "6. Besponsa is prescribed for no more than 6 cycles total;",
            "6. Besponsa is prescribed for no more than 6 cycles total; *Prior authorization may be required.",
            "footnote",
        ),
        # a reference whose address was not read
        ("Available at: <https://besponsa.pfizerpro.com>.", "Available at: https:// besponsa.pfizerpro.com.", "url"),
    ],
)
def test_passages_that_may_be_misread_are_suspect(old: str, new: str, kind: str):
    text = BUNDLED.read_text(encoding="utf-8")
    assert old in text
    assert kind in {s.kind for s in load_text("changed.txt", text.replace(old, new)).suspects}


UNSEEN = Path(__file__).parent / "fixtures" / "unseen"


def test_footnote_markers_in_flattened_text_are_never_read_as_emphasis():
    # CP.PHAR.208 I.A.4.b "(e. g. , Humira®*, infliximab*)": two markers, not an emphasised span
    item = _items(load_path(UNSEEN / "CP.PHAR.208_vedolizumab.txt"))["I.A.4.b"]
    assert item.footnote_marker == "*"
    assert item.text.endswith("(e.g., Humira®*, infliximab*),")


def test_a_reference_split_by_a_page_break_is_one_reference():
    # HIM.PA.SP52 reference 7: "... Bang D, et al. CLINICAL POLICY Apremilast Page 5 of 6 2018 update of ..."
    references = load_path(UNSEEN / "HIM.PA.SP52_apremilast.txt").of_kind(Reference)
    assert len(references) == 7
    assert references[6].citation.startswith("Hatemi G, Christensen R, Bang D, et al. 2018 update of the EULAR")
    assert references[6].url == "https://ard.bmj.com/content/77/6/808"
