"""Broken inputs for every ``kb`` command, and what each must do: exit 1 (or 2 for a usage error)
with a message naming the file, the line where there is one, and what was expected; no
traceback; every database file byte for byte as it was.

The cases are built from the bundled policy and the bundled example request in a scratch
folder; commands run in process through click's test runner (``kb serve`` is stopped where it
would start the server).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import click
from click.testing import CliRunner

from kb.reliability.mutations import Verdict, digest
from kb.surfaces.api import KnowledgeBase, bundled_policy_paths

POLICY = "CP.PHAR.359"
REQUEST = {
    "request_id": "reliability",
    "policy": POLICY,
    "date_of_service": "2025-12-01",
    "request_type": "initial",
    "facts": {"line_of_business": "Commercial", "age_years": 16, "diagnosis": "B-cell ALL", "cd22_positive": True},
}


@dataclass(frozen=True)
class Case:
    command: str
    broken: str
    arguments: tuple[str, ...]
    expected: tuple[str, ...]
    """Words the message must hold: the file it names, the line, what was expected."""
    exit_code: int = 1


@dataclass(frozen=True)
class Outcome:
    case: Case
    exit_code: int
    output: str
    traceback: bool
    clear: bool
    stored_wrongly: bool


def _request(**changes: object) -> str:
    return json.dumps(REQUEST | changes)


def _documents(folder: Path) -> dict[str, Path]:
    """Broken policy documents, each made from the bundled one."""
    text = bundled_policy_paths()[0].read_text(encoding="utf-8")
    lines = text.split("\n")
    log = next(i for i, line in enumerate(lines) if line.startswith("Reviews, Revisions, and Approvals"))
    made: dict[str, str | bytes] = {
        "empty.txt": "",
        "cut-in-half.txt": text[: len(text) // 2],
        "no-revision-log.txt": "\n".join(lines[:log] + lines[log + 8 :]),
        "no-reference-number.txt": text.replace(f"Reference Number: {POLICY}", "Reference: none"),
        "nul.txt": text.replace("Diagnosis of B-cell ALL;", "Diagnosis of B-cell\x00 ALL;"),
        "bell.txt": text.replace("Age \\geq 1 year;", "Age \\geq 1\x07 year;"),
        "latin1.txt": text.replace("Description", "Descripci\u00f3n", 1).encode("latin-1", errors="replace"),
        "image.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8,
        "too-big.txt": text + ("x" * 99 + "\n") * 21_000,
        "page.html": "<html><body><h1>Besponsa</h1><p>Not a policy</p></body></html>",
        "one-line.txt": "lorem ipsum " * 500,
        "bad-effective-date.txt": text.replace("Effective Date: 09.26.17", "Effective Date: 13.45.24"),
    }
    paths = {}
    for name, content in made.items():
        paths[name] = folder / name
        if isinstance(content, bytes):
            paths[name].write_bytes(content)
        else:
            paths[name].write_text(content, encoding="utf-8")
    return paths


def _requests(folder: Path) -> dict[str, Path]:
    made: dict[str, str | bytes] = {
        "good.json": _request(),
        "malformed.json": '{"policy": "CP.PHAR.359",\n "date_of_service": }',
        "empty.json": "",
        "latin1.json": '{"policy": "CP.PHAR.359", "request_id": "caf\xe9"}'.encode("latin-1"),
        "array.json": "[" + _request() + "]",
        "facts-list.json": _request(facts=["age 16"]),
        "unknown-policy.json": _request(policy="CP.NOPE.1"),
        "bad-date.json": _request(date_of_service="2025-02-30"),
        "unknown-field.json": _request(agee=16),
        "deep.json": "[" * 100_000,
        "batch.jsonl": "\n".join([_request(), "{not json", _request(policy="CP.NOPE.1"), "[1]", _request()]) + "\n",
        "empty.jsonl": "\n\n",
        "record-missing.json": json.dumps({"request": json.loads(_request())}),
        "record-not-object.json": "42",
        "metadata.json": '{"databases": {',
    }
    paths = {}
    for name, content in made.items():
        paths[name] = folder / name
        paths[name].write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return paths


def _databases(folder: Path) -> dict[str, Path]:
    kb = folder / "kb.sqlite"
    with KnowledgeBase(kb) as loaded:
        loaded.load()
    (folder / "notes.txt").write_text("not a database\n" * 200, encoding="utf-8")
    other = folder / "other.sqlite"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE songs (title TEXT)")
    connection.close()
    (folder / "a-folder").mkdir()
    return {"kb": kb, "notes": folder / "notes.txt", "other": other, "folder": folder / "a-folder"}


def cases(scratch: Path) -> list[Case]:
    """Every broken input tried, built under ``scratch``."""
    for name in ("documents", "requests", "databases", "out"):
        (scratch / name).mkdir(parents=True, exist_ok=True)
    requests, databases = _requests(scratch / "requests"), _databases(scratch / "databases")
    db = ("--db", str(databases["kb"]))
    return [
        *_load_cases(scratch, _documents(scratch / "documents"), db),
        *_database_cases(databases, requests["good.json"]),
        *_argument_cases(scratch, db),
        *_request_cases(requests, scratch / "out", db),
    ]


def _load_cases(scratch: Path, docs: dict[str, Path], db: tuple[str, str]) -> list[Case]:
    out = scratch / "out"
    found = [Case("load", f"document: {name}", (str(path), *db), (str(path),)) for name, path in docs.items()]
    found += [
        Case("load", "a missing file", (str(scratch / "nope.txt"), *db), ("nope.txt", "expected an existing")),
        Case("load", "a directory", (str(scratch / "out"), *db), (str(out), "expected a policy text file")),
        Case(
            "load",
            "a good file and a bad one",
            (str(bundled_policy_paths()[0]), str(docs["nul.txt"]), *db),
            ("nul.txt",),
        ),
        Case("load", "a bad --rule", ("--rule", "someday", *db), ("--rule",), 2),
        Case(
            "load",
            "--db in a missing folder",
            ("--db", str(scratch / "no-such-folder" / "kb.sqlite")),
            ("no-such-folder",),
        ),
    ]
    return found


def _database_cases(dbs: dict[str, Path], good_request: Path) -> list[Case]:
    """Each command given a --db that is not a knowledge base."""
    found: list[Case] = []
    for name in ("notes", "other", "folder"):
        target = str(dbs[name])
        expected, code = ((target, "is a directory"), 2) if name == "folder" else ((target, "expected a"), 1)
        found += [
            Case("load", f"--db {name}", ("--db", target), expected, code),
            Case("policies", f"--db {name}", ("--db", target), expected, code),
            Case("show", f"--db {name}", (POLICY, "--db", target), expected, code),
            Case("versions", f"--db {name}", (POLICY, "--db", target), expected, code),
            Case("asof", f"--db {name}", (POLICY, "2024-08-01", "--db", target), expected, code),
            Case("diff", f"--db {name}", (POLICY, "2024-08-01", "2025-12-01", "--db", target), expected, code),
            Case("export", f"--db {name}", (POLICY, "--as-of", "2024-08-01", "--db", target), expected, code),
            Case("evaluate", f"--db {name}", (str(good_request), "--db", target), expected, code),
            Case("audit", f"--db {name}", (POLICY, "--db", target), expected, code),
            Case("serve", f"--db {name}", ("--db", target), expected, code),
        ]
    return found


def _argument_cases(scratch: Path, db: tuple[str, str]) -> list[Case]:
    out = scratch / "out"
    return [
        Case("asof", "unknown policy", ("CP.NOPE.1", "2024-08-01", *db), ("no policy 'CP.NOPE.1'",)),
        Case("asof", "impossible date", (POLICY, "2024-02-30", *db), ("2024-02-30", "YYYY-MM-DD")),
        Case("asof", "a word for a date", (POLICY, "yesterday", *db), ("yesterday", "YYYY-MM-DD")),
        Case("asof", "bad --known-at", (POLICY, "2024-08-01", "--known-at", "noon", *db), ("noon",)),
        Case("show", "unknown policy", ("CP.NOPE.1", *db), ("no policy 'CP.NOPE.1'",)),
        Case("versions", "unknown policy", ("CP.NOPE.1", *db), ("no policy 'CP.NOPE.1'",)),
        Case("diff", "unknown version label", (POLICY, "V1999-01", "2025-12-01", *db), ("V1999-01",)),
        Case("diff", "a bad date", (POLICY, "2024-13-01", "2025-12-01", *db), ("2024-13-01", "YYYY-MM-DD")),
        Case("diff", "two arguments", (POLICY, "2024-08-01", *db), ("expected POLICY FROM TO",), 2),
        Case("diff", "--all with a policy", ("--all", POLICY, "2024-08-01", "2025-12-01", *db), ("--all FROM TO",), 2),
        Case(
            "diff",
            "-o in a missing folder",
            (POLICY, "2024-08-01", "2025-12-01", "-o", str(out / "x" / "d.txt"), *db),
            ("d.txt",),
        ),
        Case("export", "a bad date", (POLICY, "--as-of", "2024-00-10", *db), ("2024-00-10", "YYYY-MM-DD")),
        Case(
            "export",
            "xlsx to the terminal",
            (POLICY, "--as-of", "2024-08-01", "--format", "xlsx", *db),
            ("-o FILE",),
            2,
        ),
        Case("export", "an unknown format", (POLICY, "--as-of", "2024-08-01", "--format", "pdf", *db), ("pdf",), 2),
        Case("audit", "unknown policy", ("CP.NOPE.1", *db), ("no policy 'CP.NOPE.1'",)),
        Case("audit", "bad --known-at", (POLICY, "--known-at", "noon", *db), ("noon",)),
        Case("audit", "a missing --changes folder", (POLICY, "--changes", str(scratch / "nope"), *db), ("nope",), 2),
        Case("evaluate", "no request", db, ("REQUEST_FILE",), 2),
        Case("evaluate", "a missing request file", (str(scratch / "nope.json"), *db), ("nope.json",), 2),
    ]


def _request_cases(reqs: dict[str, Path], out: Path, db: tuple[str, str]) -> list[Case]:
    kb = db[1]
    found: list[Case] = []
    expected = {
        "malformed.json": (":2", "not JSON"),
        "empty.json": ("empty file",),
        "latin1.json": (":1", "UTF-8"),
        "array.json": (":1", "a JSON object", "array"),
        "facts-list.json": ("'facts' must be a JSON object",),
        "unknown-policy.json": ("no policy 'CP.NOPE.1'",),
        "bad-date.json": ("2025-02-30", "YYYY-MM-DD"),
        "unknown-field.json": ("agee",),
        "deep.json": (":1", "nested too deeply"),
        "record-not-object.json": (":1", "a JSON object"),
    }
    found += [
        Case("evaluate", f"request: {name}", (str(reqs[name]), *db), (str(reqs[name]).split("/")[-1], *words))
        for name, words in expected.items()
    ]
    found += [
        Case("evaluate", "--batch without -o", ("--batch", str(reqs["batch.jsonl"]), *db), ("-o FILE",), 2),
        Case(
            "evaluate",
            "a batch with bad lines 2, 3 and 4",
            ("--batch", str(reqs["batch.jsonl"]), "-o", str(out / "decisions.jsonl"), *db),
            (
                "2 decisions written",
                "batch.jsonl:2: not JSON",
                "batch.jsonl:3: no policy",
                "batch.jsonl:4",
                "3 of 5 requests refused",
            ),
        ),
        Case(
            "evaluate",
            "an empty batch",
            ("--batch", str(reqs["empty.jsonl"]), "-o", str(out / "d.jsonl"), *db),
            ("empty.jsonl", "empty file"),
        ),
        Case(
            "evaluate",
            "a record missing its keys",
            ("--replay", str(reqs["record-missing.json"]), *db),
            ("record-missing.json", "missing decision"),
        ),
        Case(
            "evaluate",
            "a record that is not an object",
            ("--replay", str(reqs["record-not-object.json"]), *db),
            ("record-not-object.json", "a decision record"),
        ),
        Case(
            "impact",
            "a requests file with bad lines",
            (POLICY, "2024-08-01", "2025-12-01", "--requests", str(reqs["batch.jsonl"]), *db),
            ("batch.jsonl:2", "not JSON"),
        ),
        Case(
            "impact",
            "unknown policy",
            ("CP.NOPE.1", "2024-08-01", "2025-12-01", "--requests", str(reqs["good.json"]), *db),
            ("no policy 'CP.NOPE.1'",),
        ),
        Case(
            "serve",
            "malformed metadata",
            ("--db", kb, "--metadata", str(reqs["metadata.json"])),
            ("metadata.json", "JSON"),
        ),
        Case("serve", "a port out of range", ("--db", kb, "--port", "70000"), ("70000",), 2),
        Case("bench", "sizes that are not numbers", ("--sizes", "ten"), ("--sizes", "ten"), 2),
        Case("bench", "no runs", ("--runs", "0"), ("--runs",), 2),
        Case("facts", "an unknown fact name", ("age",), ("no fact 'age'", "kb facts")),
        Case("reliability", "no kills", ("--kills", "-1"), ("--kills",), 2),
    ]
    return found


class ServerWouldStart(Exception):
    """Raised where ``kb serve`` would replace this process with Datasette."""


@contextmanager
def _no_server() -> Iterator[None]:
    def refuse(*_: object) -> None:
        raise ServerWouldStart()

    with mock.patch.object(os, "execvp", refuse):
        yield


def _snapshot(folder: Path) -> dict[str, str]:
    """Every file of the folder holding the databases (a lock file aside), by digest."""
    return {p.name: digest(p) for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.endswith(".lock")}


def run_case(command: click.Command, case: Case, databases: Path) -> Outcome:
    before = _snapshot(databases)
    with _no_server():
        result = CliRunner().invoke(command, [case.command, *case.arguments])
    uncaught = result.exception is not None and not isinstance(result.exception, SystemExit)
    output = result.output
    traceback = uncaught or "Traceback" in output
    clear = (
        not traceback
        and result.exit_code == case.exit_code
        and all(word in output for word in case.expected)
        and "internal error" not in output
    )
    return Outcome(case, result.exit_code, output, traceback, clear, _snapshot(databases) != before)


def run_catalogue(command: click.Command, scratch: Path) -> list[Outcome]:
    """Every case against ``command`` (the ``kb`` group)."""
    return [run_case(command, case, scratch / "databases") for case in cases(scratch)]


def try_request(command: click.Command, database: Path, path: Path) -> Verdict:
    """Evaluate a (mutated) request file: decided, or refused with a message naming the file."""
    before = digest(database)
    result = CliRunner().invoke(command, ["evaluate", str(path), "--db", str(database), "--json"])
    if (result.exception is not None and not isinstance(result.exception, SystemExit)) or "Traceback" in result.output:
        return Verdict("traceback", repr(result.exception))
    if digest(database) != before:
        return Verdict("stored wrongly", "evaluating a request changed the knowledge base")
    if result.exit_code == 0:
        return Verdict("decided")
    if result.exit_code == 1 and str(path) in result.output:
        return Verdict("refused", result.output.strip().splitlines()[-1])
    return Verdict("unclear", result.output[-300:])


def try_batch(command: click.Command, database: Path, path: Path) -> Verdict:
    """Evaluate a (mutated) batch: one record per non-blank line, an error record naming each bad line."""
    output = path.with_suffix(".decisions.jsonl")
    result = CliRunner().invoke(command, ["evaluate", "--batch", str(path), "-o", str(output), "--db", str(database)])
    if (result.exception is not None and not isinstance(result.exception, SystemExit)) or "Traceback" in result.output:
        return Verdict("traceback", repr(result.exception))
    lines = [n for n, line in enumerate(path.read_bytes().split(b"\n"), 1) if line.strip()]
    if not lines:
        return Verdict("refused") if result.exit_code == 1 and str(path) in result.output else Verdict("unclear")
    records = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()] if output.exists() else []
    errors = [r["line"] for r in records if r.get("decision") is None]
    if len(records) != len(lines) or not set(errors) <= set(lines) or (errors and result.exit_code != 1):
        return Verdict("stored wrongly", f"{len(lines)} lines, {len(records)} records, error lines {errors}")
    return Verdict("refused" if errors else "decided", f"{len(errors)} of {len(lines)} lines refused")
