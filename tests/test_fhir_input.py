"""FHIR input never ends in an internal error (issue #28, item 3).

What FHIR allows is read (a dateTime with its zone, a bare date where a dateTime is allowed,
the last day of the calendar) or refused by name: a partial date where a day is needed, a
number with more digits than any element holds, a resource of no FHIR type. Refusals name the
FHIR path and what FHIR expects there, not the models' internals. The fuzz puts 500 mutated
payloads (the Da Vinci examples and the project's own) through ``kb evaluate`` and the site's
CDS service.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from kb.reliability.fhir_fuzz import INTERNALS, fuzz
from kb.surfaces.api import KnowledgeBase
from kb.surfaces.cli import cli
from kb.surfaces.fhir.resources import FhirError, parse
from tests.conftest import FIXTURES

APPROVE = FIXTURES / "fhir" / "besponsa-qr-2024-08-01-approve.json"


def response(**changes: Any) -> dict[str, Any]:
    return json.loads(APPROVE.read_text(encoding="utf-8")) | changes


def evaluate(kb: KnowledgeBase, tmp_path: Path, text: str) -> tuple[int, str]:
    """(exit code, stdout and, on a refusal, stderr) of ``kb evaluate --json`` on ``text``."""
    path = tmp_path / "payload.json"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["evaluate", str(path), "--db", str(kb.path), "--json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "internal error" not in result.output
    return result.exit_code, result.stdout if result.exit_code == 0 else result.output


@pytest.mark.parametrize(
    "authored",
    ["2024-08-01", "2024-08-01T10:00:00Z", "2024-08-01T23:30:00-05:00", "2024-08-01T00:15:00+14:00"],
)
def test_authored_as_a_date_or_a_datetime_with_its_zone_is_the_day_it_names(loaded_kb, tmp_path, authored):
    # the fixture's answers meet the criteria of the version in force on 2024-08-01 (its name says so)
    code, output = evaluate(loaded_kb, tmp_path, json.dumps(response(authored=authored)))
    assert code == 0, output
    decision = json.loads(output)
    assert decision["decision"] == "approve"
    assert decision["request"]["date_of_service"] == "2024-08-01"


@pytest.mark.parametrize("authored", ["2024", "2024-08"])
def test_a_partial_authored_date_names_no_day_of_service_and_is_refused_by_name(loaded_kb, tmp_path, authored):
    code, output = evaluate(loaded_kb, tmp_path, json.dumps(response(authored=authored)))
    assert code == 1
    assert "QuestionnaireResponse.authored" in output and "a full date YYYY-MM-DD" in output


def test_a_partial_value_date_is_refused_naming_the_answer(loaded_kb, tmp_path):
    data = response()
    data["item"].append({"linkId": "date_of_service", "answer": [{"valueDate": "2025"}]})
    code, output = evaluate(loaded_kb, tmp_path, json.dumps(data))
    assert code == 1
    assert f"QuestionnaireResponse.item[{len(data['item']) - 1}].answer[0]" in output and "2025" in output


def test_the_calendars_last_day_is_decided_with_an_end_date_left_unknown(loaded_kb, tmp_path):
    # answers that meet the newest version's criteria; that version stays in force (no end), so
    # they are approved on 9999-12-31 too, for months that would end after the calendar's last day
    data = json.loads((FIXTURES / "fhir" / "besponsa-qr-2025-12-01-approve.json").read_text(encoding="utf-8"))
    service = next(item for item in data["item"] if item["linkId"] == "date_of_service")
    service["answer"] = [{"valueDate": "9999-12-31"}]
    code, output = evaluate(loaded_kb, tmp_path, json.dumps(data))
    assert code == 0, output
    decision = json.loads(output)
    assert decision["decision"] == "approve"
    assert decision["duration"]["end_date"] is None
    assert "after 9999-12-31" in decision["duration"]["note"]


def test_a_number_of_5000_digits_is_refused_by_name(loaded_kb, tmp_path):
    text = json.dumps(response()).replace('"valueInteger": 2', '"valueInteger": ' + "9" * 5_000, 1)
    code, output = evaluate(loaded_kb, tmp_path, text)
    assert code == 1 and "a number of 5,000 digits" in output


def test_a_resource_of_no_fhir_type_inside_a_bundle_is_named_by_its_path():
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"resourceType": "Foo"}}]}
    with pytest.raises(FhirError) as raised:
        parse(bundle, "bundle.json")
    assert [str(issue) for issue in raised.value.issues] == [
        "Bundle.entry[0].resource.resourceType: a FHIR R4 resource type; found 'Foo'"
    ]


def test_a_deep_nest_is_refused_by_path_not_by_recursion():
    nest: list = []
    inner = nest
    for _ in range(900):  # shallower than the JSON reader's limit, deeper than a recursive walk goes
        inner.append([])
        inner = inner[0]
    basic = {"resourceType": "Basic", "code": {"text": "x"}, "extension": nest}
    with pytest.raises(FhirError) as raised:
        parse({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": basic}]}, "deep.json")
    assert str(raised.value.issues[0]).startswith("Bundle.entry[0].resource.extension[0]: an element of type Extension")


@pytest.mark.parametrize(
    ("change", "path", "expected"),
    [
        ({"item": [{"linkId": 0}]}, "QuestionnaireResponse.item[0].linkId", "a string; found 0"),
        (
            {"item": [True]},
            "QuestionnaireResponse.item[0]",
            "an element of type QuestionnaireResponseItem (a JSON object)",
        ),
        ({"authored": "2024-02-30"}, "QuestionnaireResponse.authored", "a FHIR dateTime"),
        ({"authored": "yesterday"}, "QuestionnaireResponse.authored", "a FHIR dateTime"),
        ({"meta": {"lastUpdated": "x"}}, "QuestionnaireResponse.meta.lastUpdated", "a FHIR instant"),
    ],
)
def test_refusals_name_the_fhir_path_and_what_fhir_expects(change, path, expected):
    with pytest.raises(FhirError) as raised:
        parse(response(**change), "qr.json")
    issue = raised.value.issues[0]
    assert issue.path == path and expected in issue.expected
    assert not INTERNALS.search(str(raised.value))


def test_a_batch_line_that_cannot_be_read_is_an_error_record_of_its_own_line(loaded_kb, tmp_path):
    plain = json.loads((Path(__file__).parents[1] / "examples" / "request-ph-negative-16.json").read_text())
    lines = [json.dumps(plain), json.dumps(plain).replace('"age_years": 16', '"age_years": ' + "9" * 5_000)]
    lines += [json.dumps(plain | {"date_of_service": "9999-12-31"}), '{"facts": NaN}']
    batch, output = tmp_path / "batch.jsonl", tmp_path / "out.jsonl"
    batch.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["evaluate", "--batch", str(batch), "-o", str(output), "--db", str(loaded_kb.path)]
    )
    assert result.exit_code == 1 and "internal error" not in result.output
    records = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert [record.get("line") for record in records if record["decision"] is None] == [2, 4]
    assert records[0]["decision"] is not None and records[2]["decision"] is not None


def test_500_mutated_fhir_payloads_and_hook_requests_end_in_no_internal_error(loaded_kb, tmp_path):
    outcomes = fuzz(cli, loaded_kb.path, tmp_path, 500, seed=28)
    assert len(outcomes) == 500
    assert {o.surface for o in outcomes} == {"kb evaluate", "CDS service"}
    bad = [o for o in outcomes if o.status in ("internal error", "internals")]
    assert not bad, bad[:5]
