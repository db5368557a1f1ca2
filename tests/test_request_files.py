"""Request files: every problem names the file, the line and what was expected; a batch decides
every good line and writes an error record for each bad one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.concepts.facts import RequestError
from kb.surfaces.cli import cli
from kb.surfaces.request_files import read_batch, read_record, read_request

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "request-ph-negative-16.json"
GOOD = json.loads(EXAMPLE.read_text(encoding="utf-8"))


def _file(tmp_path: Path, content: bytes | str, name: str = "request.json") -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


@pytest.mark.parametrize(
    ("content", "where", "expected"),
    [
        ('{"policy": "CP.PHAR.359",\n "date_of_service": }', ":2", "not JSON (Expecting value at column 21)"),
        ("", "", "expected a request (a JSON object); found an empty file"),
        ("  \n\n", "", "found an empty file"),
        (
            b'{"policy": "CP.PHAR.359",\n\n "request_id": "caf\xe9"}',
            ":3",
            "expected UTF-8 text; found bytes b'\\xe9\"}'",
        ),
        ("[1, 2]", ":1", "expected a request (a JSON object); found a JSON array"),
        ('"CP.PHAR.359"', ":1", "found a JSON string"),
        ("null", ":1", "found a JSON null"),
        (
            '{"policy": "CP.PHAR.359", "date_of_service": "2025-12-01", "facts": [1]}',
            "",
            "'facts' must be a JSON object",
        ),
        ("[" * 100000, ":1", "JSON nested too deeply"),
    ],
)
def test_a_bad_request_file_names_file_line_and_expectation(tmp_path, content, where, expected):
    path = _file(tmp_path, content)
    with pytest.raises(RequestError) as caught:
        read_request(path)
    assert str(caught.value).startswith(f"{path}{where}: ") and expected in str(caught.value)


def test_a_good_request_file_reads(tmp_path):
    request = read_request(_file(tmp_path, "\ufeff" + json.dumps(GOOD)))  # a byte-order mark is fine
    assert request.policy == "CP.PHAR.359" and request.facts["age_years"] == 16


def test_a_decision_record_is_checked_before_replay(tmp_path):
    with pytest.raises(RequestError, match="missing decision, rules_hash, known_at"):
        read_record(_file(tmp_path, json.dumps({"request": GOOD})))
    with pytest.raises(RequestError, match="'request' to be a JSON object"):
        read_record(_file(tmp_path, json.dumps({"request": 3, "decision": 1, "rules_hash": 1, "known_at": 1})))


def _batch(tmp_path: Path) -> Path:
    lines = [
        json.dumps(GOOD | {"request_id": "one"}).encode(),
        b"{not json",
        json.dumps(GOOD | {"request_id": "three", "policy": "CP.NOPE.1"}).encode(),
        json.dumps(GOOD | {"request_id": "four"}).encode(),
        b"[1, 2]",
        b'{"request_id": "caf\xe9"}',
        b"",
        json.dumps(GOOD | {"request_id": "eight", "facts": "age 16"}).encode(),
        json.dumps(GOOD | {"request_id": "nine", "date_of_service": "2025-02-30"}).encode(),
    ]
    return _file(tmp_path, b"\n".join(lines) + b"\n", "requests.jsonl")


def test_a_batch_reads_every_line_and_keeps_each_error(tmp_path):
    items = list(read_batch(_batch(tmp_path)))
    assert [number for number, _ in items] == [1, 2, 3, 4, 5, 6, 8, 9]
    bad = {number: str(item) for number, item in items if isinstance(item, RequestError)}
    assert sorted(bad) == [2, 5, 6, 8, 9]
    assert "requests.jsonl:6: expected UTF-8 text" in bad[6] and "requests.jsonl:9: date_of_service" in bad[9]


@pytest.mark.parametrize("extra", [[], ["--no-trace"]])
def test_a_batch_decides_the_good_lines_and_records_the_bad(loaded_kb, tmp_path, extra):
    source, output = _batch(tmp_path), tmp_path / "decisions.jsonl"
    result = CliRunner().invoke(
        cli, ["evaluate", "--batch", str(source), "-o", str(output), "--db", str(loaded_kb.path), *extra]
    )
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "2 decisions written" in result.output and "6 line(s) refused" in result.output
    assert "Error: 6 of 8 requests refused" in result.output
    records = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert [r.get("request_id") or r["request"]["request_id"] for r in records if r["decision"]] == ["one", "four"]
    errors = {r["line"]: r["error"] for r in records if r["decision"] is None}
    assert sorted(errors) == [2, 3, 5, 6, 8, 9]
    assert errors[3] == f"{source}:3: no policy 'CP.NOPE.1' in the knowledge base (see `kb policies`)"
    assert errors[2].startswith(f"{source}:2: not JSON") and f"{source}:2: not JSON" in result.output


def test_impact_refuses_a_requests_file_at_its_bad_line(loaded_kb, tmp_path):
    source = _batch(tmp_path)
    result = CliRunner().invoke(
        cli,
        ["impact", "CP.PHAR.359", "2024-08-01", "2025-12-01", "--requests", str(source), "--db", str(loaded_kb.path)],
    )
    assert result.exit_code == 1 and f"{source}:2: not JSON" in result.output
