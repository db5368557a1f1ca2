"""``kb --help`` and the option defaults import no heavy package (issue 25: start-up is waited on)."""

from __future__ import annotations

import subprocess
import sys

from kb.surfaces.cli.read import EXPORT_FORMATS
from kb.surfaces.export import EXPORTS

HEAVY = ("kb.surfaces.api", "kb.store.load", "sqlmodel", "datasette", "fhir", "openpyxl", "simple_icd_10_cm", "rich")


def _modules_after(code: str) -> set[str]:
    """The top-level module names loaded by a fresh interpreter that runs ``code``."""
    shown = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys; print('\\n'.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(shown.stdout.split())


def test_the_command_group_imports_no_heavy_package():
    loaded = _modules_after("import kb.surfaces.cli")
    assert [name for name in HEAVY if name in loaded] == []
    assert "click" in loaded


def test_help_lists_every_command_without_importing_them():
    shown = subprocess.run([sys.executable, "-m", "kb", "--help"], capture_output=True, text=True, check=True)
    for command in ("asof", "audit", "bench", "diff", "evaluate", "export", "facts", "impact", "load", "serve"):
        assert f"  {command} " in shown.stdout


def test_export_choices_are_the_exports():
    assert tuple(sorted(EXPORTS)) == EXPORT_FORMATS
