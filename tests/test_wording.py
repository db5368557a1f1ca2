"""What an evaluator and a compliance officer read, worded right (issue 26): no doubled
punctuation, the cycles that remain after an approval, the reading of "If X, Y" in words, one
citation form across asof, diff and evaluate, and counts with their noun in the right number.
Expectations are read from kb/data/policies/CP.PHAR.359_inotuzumab-ozogamicin.txt."""

from __future__ import annotations

import hashlib
import json

from click.testing import CliRunner

from kb.concepts.facts import Request
from kb.surfaces.api import bundled_policy_paths
from kb.surfaces.cli import cli
from kb.surfaces.cli.base import counted
from kb.surfaces.render import answer_text, decision_text

SHORT_HASH = hashlib.sha256(bundled_policy_paths()[0].read_bytes()).hexdigest()[:12]
FRONTLINE_16 = {
    "diagnosis": "B-cell ALL",
    "prescriber_specialty": "hematologist",
    "age_years": 16,
    "cd22_positive": True,
    "disease_status": "newly diagnosed",
    "line_of_therapy": ["frontline"],
    "cycles_requested": 2,
    "cycles_received": 0,
    "regimen_fda_or_nccn": True,
    "dose": [{"value": 1.8, "unit": "mg/m2", "per": "cycle"}],
    "line_of_business": "HIM",
}


def evaluate(kb, facts: dict, request_type: str = "initial"):
    request = Request.from_json(
        {"policy": "CP.PHAR.359", "date_of_service": "2025-12-01", "request_type": request_type, "facts": facts}
    )
    return kb.evaluate(request)


def test_a_denial_lists_the_options_without_doubled_semicolons(loaded_kb):
    # I.A.5 (a or b): "a. Disease is relapsed or refractory;" "b. If prescribed as frontline therapy, age ≥ 18 years;"
    text = decision_text(evaluate(loaded_kb, FRONTLINE_16))
    assert ";;" not in text
    assert "none of: I.A.5.a Disease is relapsed or refractory; I.A.5.b If prescribed as frontline therapy" in text


def test_the_reading_of_if_x_y_is_said_in_words(loaded_kb):
    text = decision_text(evaluate(loaded_kb, FRONTLINE_16))
    assert "X and Y" not in text and "(not X)" not in text
    line = next(line for line in text.splitlines() if line.strip().startswith("✗ I.A.5.b If prescribed"))
    assert "an option met when its condition and the rest both hold" in line


def test_evaluate_cites_documents_as_asof_does(loaded_kb):
    # "Last Review Date: 11.25"; I.A.1 "Diagnosis of B-cell ALL;" stands on line 33
    citation = f"document 11.25 ({SHORT_HASH}) line 33"
    assert citation in decision_text(evaluate(loaded_kb, FRONTLINE_16))
    assert citation in answer_text(loaded_kb.as_of("CP.PHAR.359", "2025-12-01"))


def test_cycles_that_remain_are_counted_after_the_approval(loaded_kb):
    # II.A.3 and "up to 6 cycles total": 3 received, 4 asked: 3 approved, none left after them
    facts = {
        "line_of_business": "HIM",
        "receiving_via_plan_benefit": True,
        "response_to_therapy": "positive",
        "dose_increase": False,
        "cycles_received": 3,
        "cycles_requested": 4,
    }
    text = decision_text(evaluate(loaded_kb, facts, "continuation"))
    assert "cycles: 3 approved of the 3 that remained under the cap of 6; 0 remain after this approval" in text


def test_counts_take_their_noun_in_the_right_number(loaded_kb):
    result = CliRunner().invoke(cli, ["policies", "--db", str(loaded_kb.path)])
    assert result.exit_code == 0
    # the bundled policy holds V2021, V2022, V2023, V2024-05, V2024-11 and V2025-11
    assert "6 versions from 2021-11-01" in result.output
    listed = json.loads(CliRunner().invoke(cli, ["policies", "--db", str(loaded_kb.path), "--json"]).output)
    assert listed[0]["versions"] == 6
    assert counted(1, "version") == "1 version"
