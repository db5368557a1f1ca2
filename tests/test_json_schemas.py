"""The JSON outputs are contracts: ``kb asof --json`` / ``kb show --json``, ``kb evaluate --json``,
``kb audit --json`` and ``kb diff --format json`` follow the published schemas in kb/schemas/ (a renamed or dropped
key fails here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from kb.surfaces.cli import cli
from tests.conftest import BUNDLED, FIXTURES

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


def test_audit_json_follows_its_schema(run):
    data = json.loads(run("audit", POLICY, "--json"))
    assert data["history"]["clauses"] and _errors("audit", data) == []


def test_the_audit_of_a_newer_document_follows_the_schema(tmp_path):
    """A second document is audited against the first: the ``documents`` entries are checked too."""
    db = str(tmp_path / "kb.sqlite")
    CliRunner().invoke(cli, ["load", str(BUNDLED), str(FIXTURES / "CP.PHAR.359_12.25-constructed.txt"), "--db", db])
    result = CliRunner().invoke(cli, ["audit", POLICY, "--json", "--db", db])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert len(data["documents"]) == 1 and data["documents"][0]["changed_not_logged"]
    assert _errors("audit", data) == []


def test_a_renamed_key_is_caught(run):
    """The schema names every key a consumer reads: renaming one (as a refactoring might) fails."""
    data = json.loads(run("asof", POLICY, "2024-08-01", "--json"))
    data["effective_rule"] = data.pop("effective_date_rule")
    assert any("effective_date_rule" in error for error in _errors("asof", data))
    decision = json.loads(run("evaluate", str(REQUEST), "--json"))
    decision["verdict"] = decision.pop("decision")
    assert any("decision" in error for error in _errors("evaluate", decision))
    audit = json.loads(run("audit", POLICY, "--json"))
    audit["history"]["unlogged"] = audit["history"].pop("changed_not_logged")
    assert any("changed_not_logged" in error for error in _errors("audit", audit))
