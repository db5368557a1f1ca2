"""The JSON outputs are contracts: ``kb asof --json`` / ``kb show --json``, ``kb evaluate --json``
and ``kb diff --format json`` follow the published schemas in kb/schemas/ (a renamed or dropped
key fails here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

SCHEMAS = Path(__file__).resolve().parents[1] / "kb" / "schemas"
POLICY = "CP.PHAR.359"
REQUEST = Path(__file__).resolve().parents[1] / "examples" / "request-ph-negative-16.json"


def _validator(name: str) -> Draft202012Validator:
    documents = [json.loads(path.read_text(encoding="utf-8")) for path in sorted(SCHEMAS.glob("*.schema.json"))]
    registry = Registry().with_resources((doc["$id"], Resource.from_contents(doc)) for doc in documents)
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, registry=registry)


def _errors(name: str, data: dict) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in _validator(name).iter_errors(data)]


@pytest.mark.parametrize("day", ["2024-08-01", "2021-08-01", "2019-01-01"])
def test_asof_json_follows_its_schema(run, day):
    data = json.loads(run("asof", POLICY, day, "--json"))
    assert _errors("asof", data) == []


def test_show_json_follows_the_asof_schema(run):
    assert _errors("asof", json.loads(run("show", POLICY, "--json"))) == []


def test_evaluate_json_follows_its_schema(run):
    data = json.loads(run("evaluate", str(REQUEST), "--json"))
    assert _errors("evaluate", data) == []


def test_a_renamed_key_is_caught(run):
    """The schema names every key a consumer reads: renaming one (as a refactoring might) fails."""
    data = json.loads(run("asof", POLICY, "2024-08-01", "--json"))
    data["effective_rule"] = data.pop("effective_date_rule")
    assert any("effective_date_rule" in error for error in _errors("asof", data))
    decision = json.loads(run("evaluate", str(REQUEST), "--json"))
    decision["verdict"] = decision.pop("decision")
    assert any("decision" in error for error in _errors("evaluate", decision))
