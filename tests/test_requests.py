"""Bad requests are refused with the fact named, and no traceback reaches the user."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.concepts.facts import Request, RequestError
from kb.surfaces.api import KnowledgeBase
from kb.surfaces.cli import cli

BASE = {"policy": "CP.PHAR.359", "date_of_service": "2025-12-01"}


@pytest.mark.parametrize(
    ("facts", "named"),
    [
        ({"age_years": 500}, "age_years"),
        ({"age_years": -1}, "age_years"),
        ({"age_years": float("nan")}, "age_years"),
        ({"age_years": float("inf")}, "age_years"),
        ({"cycles_received": -1000}, "cycles_received"),
        ({"cycles_requested": 2.5}, "cycles_requested"),
        ({"dose": {"value": -1, "unit": "mg", "per": "1 day"}}, "dose"),
        ({"dose": {"value": 1, "unit": "furlongs", "per": "1 day"}}, "dose"),
        ({"line_of_business": "Medicare"}, "line_of_business"),
        ({"renewal_date": "2026-02-30"}, "renewal_date"),
        ({"platelet_count": {"value": 20000, "unit": "/uL", "date": "yesterday"}}, "platelet_count"),
        ({"diagnosis": {"system": "ICD-9-CM", "code": "204.00"}}, "diagnosis"),
        ({"diagnosis": {"system": "ICD-10-CM", "code": "C91.09"}}, "diagnosis"),
        ({"prescriber_specialty": {"system": "NUCC", "code": "hematology"}}, "prescriber_specialty"),
        ({"line_of_therapy": "frontline"}, "line_of_therapy"),
    ],
)
def test_bad_facts_are_refused_naming_the_fact(facts, named):
    with pytest.raises(RequestError, match=f"fact '{named}'"):
        Request.from_json({**BASE, "facts": facts})


def test_a_line_of_business_the_policy_does_not_name_is_refused(tmp_path):
    # CP.PHAR.554 names HIM and Medicaid only (its header); a Commercial request is refused.
    corpus = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "centene" / "CP.PHAR.554_chlorambucil.txt"
    if not corpus.exists():
        pytest.skip("the corpus is not beside the checkout")
    with KnowledgeBase(tmp_path / "kb.sqlite") as kb:
        kb.load([corpus])
        request = {
            "policy": "CP.PHAR.554",
            "date_of_service": "2025-06-01",
            "facts": {"line_of_business": "Commercial"},
        }
        with pytest.raises(RequestError, match="line_of_business.*names HIM, Medicaid"):
            kb.evaluate(Request.from_json(request))


def test_the_cli_refuses_without_a_traceback(loaded_kb, tmp_path):
    path = tmp_path / "request.json"
    path.write_text('{"policy": "CP.PHAR.359", "date_of_service": "2025-12-01", "facts": {"age_years": Infinity}}')
    result = CliRunner().invoke(cli, ["evaluate", str(path), "--db", str(loaded_kb.path)])
    assert result.exit_code == 1 and "fact 'age_years'" in result.output and "Traceback" not in result.output
