"""Issue 23, "Done when": a held-back set of defects planted by hand (tests/planted_defects.toml,
written independently of the mutation operators), each refused at load or reported by the audit."""

from __future__ import annotations

import shutil
import tomllib
from collections import Counter
from pathlib import Path

import pytest

from kb.errors import KBError
from kb.history.mutations import audit_problems
from kb.store.write import connect
from revisions.changes import load_changesets
from tests.conftest import CHANGES

DEFECTS = tomllib.loads((Path(__file__).parent / "planted_defects.toml").read_text(encoding="utf-8"))["defect"]
KINDS = {
    "logic flip",
    "polarity flip",
    "single-witness value",
    "deleted revision file",
    "raised confidence",
    "changed source",
    "fabricated quote",
    "position swap",
}


def _planted(folder: Path, defect: dict) -> Path:
    """A copy of the change data with one defect planted."""
    target = folder / defect["name"][:40].replace(" ", "-").replace("/", "-")
    shutil.copytree(CHANGES, target)
    if "delete" in defect:
        (target / defect["delete"]).unlink()
    for edit in defect.get("edit", []):
        path = target / edit["file"]
        text = path.read_text(encoding="utf-8")
        assert text.count(edit["old"]) == 1, f"{defect['name']}: the edit's old text must occur once in {edit['file']}"
        path.write_text(text.replace(edit["old"], edit["new"]), encoding="utf-8")
    return target


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory, document) -> dict[str, tuple[str, str]]:
    """Each defect's fate: refused at load, found by the audit, or missed (with the first finding)."""
    scratch = tmp_path_factory.mktemp("planted")
    template = connect(scratch / "schema.sqlite")
    baseline = set(audit_problems(template, [document], load_changesets(CHANGES), "pt-month-start"))
    found = {}
    for defect in DEFECTS:
        try:
            changesets = load_changesets(_planted(scratch, defect))
            new = [p for p in audit_problems(template, [document], changesets, "pt-month-start") if p not in baseline]
        except KBError as error:
            found[defect["name"]] = ("refused at load", str(error))
            continue
        found[defect["name"]] = ("found by the audit" if new else "missed", new[0] if new else "")
    return found


def test_the_set_holds_at_least_25_defects_of_every_kind_the_issue_names():
    assert len(DEFECTS) >= 25
    assert {d["kind"] for d in DEFECTS} >= KINDS


def test_the_unchanged_change_data_audits_clean(tmp_path, document):
    assert audit_problems(connect(tmp_path / "s.sqlite"), [document], load_changesets(CHANGES), "pt-month-start") == []


def test_at_least_95_percent_are_refused_or_reported(outcomes):
    fates = Counter(status for status, _ in outcomes.values())
    missed = [name for name, (status, _) in outcomes.items() if status == "missed"]
    print(f"planted defects: {len(outcomes)}; {dict(fates)}; missed: {missed}")
    assert (len(outcomes) - len(missed)) / len(outcomes) >= 0.95, missed


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("TKI clause of V2021 about Ph-negative disease", "names chromosome positive"),
        ("Age ≥ 65 turned into 60", "the one reading of where copy-11.23 stops"),
        ("the 07.11.24 change file deleted", "revision 07.11.24 (4Q 2024 annual review) has no change file"),
        ("single-agent removal raised from medium-low to high", "confidence high, but its values before rest on"),
        ("induction removal's source changed from the log to copy-11.23", "a copy of the version after 08.06.23"),
        ("FDA indication's source changed from copy-11.23 to the log", "cites the log, but no clause states"),
        ("a quote of the age item the copy never shows, high", "which the copy does not read"),
        ("induction and age sub-criteria swapped in position", "as the copy orders them"),
        (
            "induction pathway 'both (i and ii)' turned into 'one of (i or ii)', consistently, with the copy quote trimmed",
            "as copy-11.23 shows it",
        ),
    ],
)
def test_each_kind_is_caught_for_its_own_reason(outcomes, name, words):
    status, detail = outcomes[name]
    assert status != "missed" and words in detail, (status, detail)
