"""Issue 23, point 2: older copies as source documents (revisions/copies.py), and the audit of a
change-data folder (`kb audit --changes DIR`)."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest
from click.testing import CliRunner

from kb.errors import ChangeDataError
from kb.surfaces.cli import cli
from revisions.changes import load_changesets
from revisions.copies import parse_copy
from tests.conftest import CHANGES

POLICY = "CP.PHAR.359"
HEAD = 'source = "copy-x"\npolicy = "P"\nrevision = 2023-08-06\nfound = "somewhere"\nshows = "criteria"\n'


def test_copy_11_23_is_stored_with_its_lines_its_cut_and_its_hash():
    changesets = {c.revision.isoformat(): c for c in load_changesets(CHANGES)}
    (copy,) = changesets["2023-08-06"].sources  # the copy of V2023, the version 08.06.23 led to
    assert copy.source == "copy-11.23" and copy.confidence == "medium"
    # the history reference: "it says 'adults' in the FDA indication ... 'one of the following (a or b)'"
    assert copy.quotes("adults with relapsed or refractory") and copy.quotes("One of the following (a or b)")
    cut = copy.line_of("criterion", "I.A.5.ph-negative.age")
    assert cut is not None and cut.cut and "65 years" in cut.reading
    assert copy.sha256 == hashlib.sha256(copy.text.encode("utf-8")).hexdigest()
    # its shown lines are witnesses of V2023; the cut line is not
    keys = {w.key for w in changesets["2023-08-06"].witnesses if w.path}
    assert "I.A.5.ph-negative" in keys and "I.A.5.ph-negative.age" not in keys


@pytest.mark.parametrize(
    ("text", "line", "expected"),
    [
        (HEAD + "colour = 1\n", None, "copy keys among"),
        (HEAD + '\n[[line]]\ntext = "a"\nreading = "b"\n', 7, "a 'reading' only on a line the copy is cut off in"),
        (HEAD + '\n[[line]]\nkind = "criterion"\ntext = "a"\n', 7, "a record kind among"),
        (HEAD + '\n[[line]]\nkind = "criterion"\nkey = "I.A.1"\n', 7, "a line with the 'text' the copy shows"),
        (HEAD.replace("2023-08-06", '"08.06.23"'), None, "revision as a TOML date"),
    ],
)
def test_a_bad_copy_file_is_refused_naming_its_line_and_what_was_expected(text, line, expected):
    with pytest.raises(ChangeDataError) as error:
        parse_copy("copy-x.toml", text)
    assert error.value.line == line and expected in str(error.value)


def test_a_copy_of_a_revision_without_change_file_is_refused(tmp_path):
    folder = tmp_path / POLICY
    shutil.copytree(CHANGES, folder)
    (folder / "copies" / "copy-x.toml").write_text(HEAD.replace("2023-08-06", "2023-08-07"), encoding="utf-8")
    with pytest.raises(ChangeDataError, match="a revision that has a change file"):
        load_changesets(folder)


def test_kb_audit_changes_dir_audits_that_folder(loaded_kb, tmp_path):
    shutil.copytree(CHANGES, tmp_path / POLICY)
    (tmp_path / POLICY / "2024-07-11.toml").unlink()
    runner = CliRunner()
    base = ["audit", POLICY, "--db", str(loaded_kb.path)]
    assert "problems: 0" in runner.invoke(cli, base).output
    result = runner.invoke(cli, [*base, "--changes", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "the log's revision 07.11.24 (4Q 2024 annual review) has no change file" in result.output
    # the history built from the folder has 2 versions (V2024-11 and V2025-11), not 6
    assert "V2024-11 (2024-11-01) .. V2025-11 (2025-11-01)" in result.output


def test_kb_audit_changes_dir_names_the_line_of_change_data_it_refuses(loaded_kb, tmp_path):
    shutil.copytree(CHANGES, tmp_path / POLICY)
    path = tmp_path / POLICY / "2022-08-02.toml"
    path.write_text(path.read_text(encoding="utf-8").replace("6 cycles total;", "8 cycles total;"), encoding="utf-8")
    result = CliRunner().invoke(cli, ["audit", POLICY, "--db", str(loaded_kb.path), "--changes", str(tmp_path)])
    assert result.exit_code == 1 and "2022-08-02.toml:24" in result.output and "Traceback" not in result.output


def test_the_copy_is_stored_in_the_knowledge_base_as_a_source_document(loaded_kb):
    row = loaded_kb.connection.execute(
        "SELECT * FROM copy_document WHERE policy_id = ? AND superseded_at IS NULL", (POLICY,)
    ).fetchone()
    changesets = {c.revision.isoformat(): c for c in load_changesets(CHANGES)}
    (copy,) = changesets["2023-08-06"].sources
    assert (row["source"], row["version"], row["revision_date"]) == ("copy-11.23", "V2023", "2023-08-06")
    assert row["sha256"] == hashlib.sha256(row["text"].encode("utf-8")).hexdigest() == copy.sha256
    assert row["cut_off"].startswith("criterion I.A.5.ph-negative.age: the copy stops at “ii. Eith”")
    assert row["file"] == "copy-11.23.toml" and "/" not in row["file"]


def test_kb_audit_json_lists_the_change_datas_unsupported_claims(loaded_kb, tmp_path):
    shutil.copytree(CHANGES, tmp_path / POLICY)
    path = tmp_path / POLICY / "2023-08-06.toml"
    # the version reads "B-cell ALL is CD22 positive;", but the copy shows only "CD22 positive"
    text = path.read_text(encoding="utf-8").replace('words = "CD22 positive"', 'words = "B-cell ALL is CD22 positive"')
    path.write_text(text, encoding="utf-8")
    base = ["audit", POLICY, "--db", str(loaded_kb.path), "--json"]
    assert json.loads(CliRunner().invoke(cli, base).output)["change_data"] == []
    data = json.loads(CliRunner().invoke(cli, [*base, "--changes", str(tmp_path)]).output)
    assert data["change_data"] == [
        "change data 2023-08-06.toml:75: quotes copy-11.23 “B-cell ALL is CD22 positive”, which the copy does not read"
    ]
    assert data["change_data"][0] in data["problems"]
