"""Bad input: a clear error naming file, line and expectation; the database untouched."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from kb.errors import NotCenteneTemplate, SourceError
from kb.surfaces.api import KnowledgeBase
from tests.conftest import BUNDLED, CORPUS

TEXT = BUNDLED.read_text(encoding="utf-8")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def kb_with_policy(tmp_path):
    kb = KnowledgeBase(tmp_path / "kb.sqlite")
    kb.load()
    kb.close()
    return kb


def _assert_refused(kb, path, line, expected_words):
    before = _digest(kb.path)
    with pytest.raises(SourceError) as caught:
        kb.load([path])
    kb.close()
    assert caught.value.source == str(path)
    assert caught.value.line == line
    assert expected_words in caught.value.expected
    assert _digest(kb.path) == before
    return caught.value


def test_empty_file(kb_with_policy, tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("")
    _assert_refused(kb_with_policy, path, None, "a policy text")


def test_other_template(kb_with_policy, tmp_path):
    source = CORPUS / "other-payers" / "Anthem.CC-0175_aldesleukin.txt"
    if not source.exists():
        pytest.skip("../shared/corpus is absent")
    path = tmp_path / source.name
    shutil.copy(source, path)
    error = _assert_refused(kb_with_policy, path, 1, "Centene clinical policy")
    assert isinstance(error, NotCenteneTemplate)


def test_missing_reference_number(kb_with_policy, tmp_path):
    path = tmp_path / "no-ref.txt"
    path.write_text(TEXT.replace("Reference Number: CP.PHAR.359", "Reference: none"))
    _assert_refused(kb_with_policy, path, 3, "Reference Number")


def test_without_criteria(kb_with_policy, tmp_path):
    path = tmp_path / "no-criteria.txt"
    lines = TEXT.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("I. Initial Approval"))
    end = next(i for i, line in enumerate(lines) if line.startswith("II. Continued"))
    path.write_text("\n".join(lines[:start] + lines[end:]))
    _assert_refused(kb_with_policy, path, None, "Initial Approval Criteria")


def test_malformed_date(kb_with_policy, tmp_path):
    path = tmp_path / "bad-date.txt"
    path.write_text(TEXT.replace("Effective Date: 09.26.17", "Effective Date: 13.45.24"))
    error = _assert_refused(kb_with_policy, path, 7, "MM.DD.YY")
    assert error.found == "13.45.24"


def test_non_utf8(kb_with_policy, tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes(TEXT.replace("Description", "Descripci\u00f3n", 1).encode("latin-1", errors="replace"))
    error = _assert_refused(kb_with_policy, path, 17, "UTF-8")
    assert "xf3" in error.found


def test_directory(kb_with_policy, tmp_path):
    _assert_refused(kb_with_policy, tmp_path, None, "a policy text file")


def test_missing_path(kb_with_policy, tmp_path):
    _assert_refused(kb_with_policy, tmp_path / "nope.txt", None, "an existing policy text file")


def test_one_bad_file_stores_none(tmp_path):
    """A load of a good and a bad file stores neither: the database is not even created."""
    kb = KnowledgeBase(tmp_path / "kb.sqlite")
    with pytest.raises(SourceError):
        kb.load([BUNDLED, tmp_path / "nope.txt"])
    assert not kb.path.exists()
