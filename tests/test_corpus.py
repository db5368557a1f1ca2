"""The real corpus (../shared/corpus): flattened Centene policies through the one loader.

Expectations are read from each document by hand. The folder is read in place, never copied;
where it is absent these tests skip and say so.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.errors import NotCenteneTemplate
from kb.model import Code, Criterion, Duration, PolicyDocument, Reference, Statement
from kb.surfaces.api import KnowledgeBase
from kb.surfaces.cli import cli
from loaders.centene import load_path
from loaders.flattened import is_flattened, repair_spacing, unflatten
from tests.conftest import CORPUS

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the policy corpus is not at {CORPUS}")
CENTENE = sorted((CORPUS / "centene").glob("*.txt")) if CORPUS.is_dir() else []


def _load(name: str) -> PolicyDocument:
    return load_path(next(path for path in CENTENE if path.name.startswith(name)))


def _criteria(document: PolicyDocument) -> dict[str, Criterion]:
    return {c.item_id: c for c in document.of_kind(Criterion)}


def _durations(document: PolicyDocument) -> dict[tuple[str, str, str], Duration]:
    return {(d.section, d.indication, d.line_of_business): d for d in document.of_kind(Duration)}


@pytest.mark.parametrize("path", CENTENE, ids=lambda p: p.name)
def test_every_corpus_file_loads_with_under_two_percent_unparsed(path: Path):
    document = load_path(path)
    counts = document.character_counts()
    assert document.form == "flattened"
    assert counts["unparsed"] / sum(counts.values()) < 0.02
    assert {c.section for c in document.of_kind(Criterion)} == {"I", "II"}
    assert document.revision_log and document.of_kind(Reference)


@pytest.mark.parametrize("path", CENTENE, ids=lambda p: p.name)
def test_unflattening_drops_no_character(path: Path):
    text = path.read_text(encoding="utf-8")
    assert is_flattened(text)

    def letters(value: str) -> Counter[str]:
        return Counter(re.sub(r"[\s•\-]", "", value))

    assert letters(unflatten(text)) == letters(repair_spacing(text))


def test_cp_phar_310_three_indications_and_deep_nesting():
    document = _load("CP.PHAR.310")
    criteria = _criteria(document)
    assert [criteria[k].text for k in ("I.A", "I.B", "I.C", "I.D")] == [
        "Multiple Myeloma (must meet all):",
        "Systemic Light Chain Amyloidosis (must meet all):",
        "Acute Lymphoblastic Leukemia (off-label) (must meet all):",
        "Other diagnoses/indications (must meet 1 or 2):",
    ]
    assert (criteria["I.A.4.a.i"].label, criteria["I.A.4.a.i.a"].label) == ("i.", "a)")
    assert criteria["I.A.4.a.i.a"].text == "lenalidomide* and dexamethasone,"
    assert criteria["I.A.4.a.ii.d"].text == "carfilzomib*, lenalidomide*, and dexamethasone,"
    assert criteria["I.A.4.b.iii"].parent_id == "I.A.4.b" and criteria["I.A.5"].logic == "any"
    assert document.policy_id == "CP.PHAR.310"
    assert [(d.generic_name, d.brand_names) for d in document.header.drugs] == [
        ("Daratumumab", ("Darzalex",)),
        ("Daratumumab/Hyaluronidase-fihj", ("Darzalex Faspro",)),
    ]
    notes = [s.text for s in document.of_kind(Statement) if s.kind == "footnote" and s.term == "I.A*"]
    assert "Prior authorization may be required." in notes
    # RT4 rows carry no P&T date and take effect on their own Date
    assert [(r.date.isoformat(), r.pt_month) for r in document.revision_log][-1] == ("2024-08-12", None)


def test_cp_phar_573_two_drugs_two_indications():
    document = _load("CP.PHAR.573")
    criteria = _criteria(document)
    assert [d.brand_names for d in document.header.drugs] == [("Apretude",), ("Cabenuva",)]
    assert (criteria["I.A"].text, criteria["I.B"].text) == (
        "HIV-1 Infection (must meet all):",
        "Pre-exposure HIV Prophylaxis (must meet all):",
    )
    assert criteria["I.A.1"].text == "Request is for Cabenuva,"
    nevada = [s for s in document.of_kind(Statement) if s.kind == "footnote" and "Nevada" in s.text]
    assert {s.term for s in nevada} == {"I.A*", "I.B*", "II.A*", "II.B*"}
    durations = _durations(document)
    assert durations[("I", "B", "HIM")].text == "12 months (7 injections)"
    assert durations[("I", "B", "Commercial")].rule == "or to the member’s renewal date, whichever is longer"
    assert sum(1 for r in document.revision_log if r.pt_month is None) == 5


def test_cp_phar_215_every_revision_row_and_stripped_codes():
    document = _load("CP.PHAR.215")
    log = [(r.date.isoformat(), r.pt_month.isoformat() if r.pt_month else None) for r in document.revision_log]
    assert len(log) == 17 and log[0] == ("2019-11-26", "2020-02") and log[-1] == ("2024-04-10", "2024-05")
    split_row = next(r for r in document.revision_log if r.description.startswith("RT4: Altuviiio"))
    assert split_row.description.endswith("updated HCPCS codes, references reviewed and updated.")
    codes = document.of_kind(Code)
    assert len(codes) == 14 and all(c.system == "HCPCS" and c.code is None for c in codes)
    assert codes[-1].description == "Factor VIII (antihemophilic factor, recombinant) per IU, not otherwise specified"
    assert not document.unparsed  # "Page 15 of 14" is page furniture too


def test_cp_phar_223_continued_therapy_durations_differ_by_line_of_business():
    durations = _durations(_load("CP.PHAR.223"))
    assert (durations[("II", "A", "Medicaid")].months, durations[("II", "A", "HIM")].months) == (12, 12)
    commercial = durations[("II", "A", "Commercial")]
    assert (commercial.months, commercial.rule) == (6, "or member’s renewal period, whichever is longer")
    assert {durations[("I", "A", lob)].text for lob in ("Commercial", "HIM", "Medicaid")} == {"6 months"}


def test_cp_phar_223_log_row_split_by_a_page_break_is_one_row():
    last = _load("CP.PHAR.223").revision_log[-1]
    assert last.description.endswith(
        "removed intubation option for alignment purposes as a hospital admission would encompass intubation, "
        "references reviewed and updated."
    )
    assert (last.date.isoformat(), last.pt_month.isoformat()) == ("2024-11-14", "2025-02")


def test_cp_phar_613_reauthorization_is_not_permitted():
    document = _load("CP.PHAR.613")
    criteria = _criteria(document)
    assert criteria["II.A.1"].text.startswith("Re-authorization is not permitted")
    durations = _durations(document)
    continued = durations[("II", "A", "Medicaid")]
    assert (continued.text, continued.months, continued.reauthorization_permitted) == ("Not applicable", None, False)
    assert (durations[("I", "A", "HIM")].text, durations[("I", "A", "HIM")].months) == ("3 months (1 dose only)", 3)
    assert [d.generic_name for d in document.header.drugs] == ["Fecal Microbiota, Live-jslm"]


def test_cp_phar_427_has_no_coding_section():
    document = _load("CP.PHAR.427")
    assert document.of_kind(Code) == [] and not document.unparsed
    assert "Coding Implications Codes referenced" not in document.reading


def test_cp_phar_524_duration_variants_are_one_row_per_condition():
    # "Approval duration: 6 weeks (if within cross-titration period with Soliris), or 6 months"
    document = _load("CP.PHAR.524")
    variants = {
        (d.condition, d.weeks, d.months)
        for d in document.of_kind(Duration)
        if (d.section, d.indication, d.line_of_business) == ("I", "A", "Commercial")
    }
    assert variants == {("if within cross-titration period with Soliris", 6, None), ("otherwise", None, 6)}
    assert _durations(_load("CP.PHAR.524"))[("II", "A", "Commercial")].months == 12


def test_him_pa_sp66_is_marketplace_only():
    document = _load("HIM.PA.SP66")
    assert document.header.lines_of_business == ("HIM",)
    assert {d.line_of_business for d in document.of_kind(Duration)} == {"HIM"}


def test_the_anthem_policy_is_refused_and_nothing_is_stored(tmp_path):
    anthem = CORPUS / "other-payers" / "Anthem.CC-0175_aldesleukin.txt"
    with KnowledgeBase(tmp_path / "kb.sqlite") as kb:
        kb.load()
        before = kb.connection.execute("SELECT COUNT(*) FROM criterion").fetchone()[0]
        with pytest.raises(NotCenteneTemplate, match="Centene clinical policy"):
            kb.load([CENTENE[0], anthem])
        assert kb.connection.execute("SELECT COUNT(*) FROM criterion").fetchone()[0] == before
        assert kb.connection.execute("SELECT COUNT(*) FROM policy").fetchone()[0] == 1


def test_asof_show_and_load_report_work_on_every_corpus_policy(tmp_path):
    db = str(tmp_path / "kb.sqlite")
    loaded = CliRunner().invoke(cli, ["load", *map(str, CENTENE), "--db", db])
    assert loaded.exit_code == 0, loaded.output
    assert loaded.output.count("flattened text;") == len(CENTENE) and "0 unparsed (0.00%)" in loaded.output
    with KnowledgeBase(db) as kb:
        policies = [row["policy_id"] for row in kb.policies()]
        stored = kb.connection.execute("SELECT SUM(unparsed_chars), COUNT(*) FROM source_document").fetchone()
    assert len(policies) == len(CENTENE) and tuple(stored) == (0, len(CENTENE))
    for policy in policies:
        shown = CliRunner().invoke(cli, ["show", policy, "--db", db])
        assert shown.exit_code == 0 and "Criteria" in shown.output, shown.output
        answer = CliRunner().invoke(cli, ["asof", policy, "2025-10-01", "--db", db])
        assert answer.exit_code == 0 and f"{policy} as of 2025-10-01: version" in answer.output
    early = CliRunner().invoke(cli, ["asof", "CP.PHAR.223", "2023-01-01", "--db", db])
    assert "no change data reconstructs the earlier versions" in early.output
