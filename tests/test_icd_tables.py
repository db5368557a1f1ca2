"""ICD-10-CM read from a cache file built once per package version, with the package's answers."""

from __future__ import annotations

import subprocess
import sys
import warnings

import pytest

from kb.concepts import icd_tables


@pytest.fixture
def cache_in(tmp_path, monkeypatch):
    """The tables built afresh under ``tmp_path`` (and forgotten again after the test)."""
    monkeypatch.setenv("KB_CACHE_DIR", str(tmp_path))
    icd_tables.tables.cache_clear()
    yield tmp_path
    icd_tables.tables.cache_clear()


def test_tables_are_built_once_into_a_file_named_by_the_package_version(cache_in):
    # ICD-10-CM 2025: C91.00 "Acute lymphoblastic leukemia not having achieved remission"
    assert icd_tables.description("C91.00") == "Acute lymphoblastic leukemia not having achieved remission"
    assert icd_tables.description("C9100") == "Acute lymphoblastic leukemia not having achieved remission"
    assert icd_tables.description("C91") == "Lymphoid leukemia"
    assert icd_tables.description("C91.99") is None
    assert icd_tables.description("C81-C96") is None  # a block, not a code
    [built] = cache_in.glob("icd-10-cm-*.sqlite")
    assert built == icd_tables.cache_path() and "-v1." in built.name
    assert not list(cache_in.glob("*.partial"))


def test_the_tables_hold_what_the_package_holds(cache_in):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import simple_icd_10_cm as icd
    codes = [c for c in icd.get_all_codes(False) if icd.is_category_or_subcategory(c) or icd.is_extended_subcategory(c)]
    assert [icd_tables.description(code) for code in codes] == [icd.get_description(code) for code in codes]
    names = [
        (f"{c[:3]}.{c[3:]}" if len(c) > 3 else c, n)
        for c in codes
        for n in [icd.get_description(c), *icd.get_inclusion_term(c)]
    ]
    assert list(icd_tables.names()) == names


def test_an_unwritable_cache_folder_gives_the_same_answers_from_memory(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("KB_CACHE_DIR", str(blocker / "cache"))
    icd_tables.tables.cache_clear()
    try:
        assert icd_tables.description("C91.00") == "Acute lymphoblastic leukemia not having achieved remission"
    finally:
        icd_tables.tables.cache_clear()


def test_reading_a_code_does_not_import_the_package_once_the_tables_exist(cache_in):
    icd_tables.tables()
    shown = subprocess.run(
        [
            sys.executable,
            "-c",
            "from kb.concepts.codes import describe; import sys;"
            "print(describe('ICD-10-CM', 'C91.00')); print('simple_icd_10_cm' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout.split("\n")[:2] == [
        "ICD-10-CM C91.00 (Acute lymphoblastic leukemia not having achieved remission)",
        "False",
    ]
