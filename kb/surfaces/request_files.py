"""Reading requests from files: one JSON request, a JSON Lines batch, a stored decision record.

Every problem is a ``RequestError`` naming the file, the line and what was expected. A batch
is read line by line and yields each line's request or its error, so that one bad line does
not keep the others from being decided.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kb.concepts.facts import Request, RequestError
from kb.errors import KBError

RECORD_KEYS = ("request", "decision", "rules_hash", "known_at")


def _text(where: str, data: bytes, first_line: int = 1) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = first_line + data[: error.start].count(b"\n")
        bad = data[error.start : error.start + 4]
        raise RequestError(f"{where}:{line}", f"expected UTF-8 text; found bytes {bad!r}") from None


class JsonNumberError(ValueError):
    """A JSON integer of more digits than Python converts (``sys.get_int_max_str_digits``)."""


def _integer(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > sys.get_int_max_str_digits():
        raise JsonNumberError(f"a number of {digits:,} digits")
    return int(text)


def json_value(text: str) -> Any:
    """JSON text as Python values; an integer too long to convert is a ``JsonNumberError``
    (Python would otherwise raise a bare ValueError from deep inside the decoder)."""
    return json.loads(text, parse_int=_integer)


def _object(where: str, text: str, expected: str, first_line: int = 1) -> dict[str, Any]:
    """The JSON object in ``text``, or an error naming the line and column of the problem."""
    try:
        data = json_value(text)
    except json.JSONDecodeError as error:
        line = first_line + error.lineno - 1
        raise RequestError(
            f"{where}:{line}", f"not JSON ({error.msg} at column {error.colno}); expected {expected}"
        ) from None
    except JsonNumberError as error:
        raise RequestError(
            f"{where}:{first_line}",
            f"{error}; expected {expected} with numbers of at most {sys.get_int_max_str_digits():,} digits",
        ) from None
    except RecursionError:
        raise RequestError(f"{where}:{first_line}", f"JSON nested too deeply; expected {expected}") from None
    if not isinstance(data, dict):
        raise RequestError(f"{where}:{first_line}", f"expected {expected}; found a JSON {_json_type(data)}")
    return data


def _json_type(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    return {dict: "object", list: "array", str: "string"}.get(type(value), "number")


def parse_request(data: dict[str, Any], where: str) -> Request:
    """A request from a JSON object; ``facts``, when given, must be an object of facts."""
    facts = data.get("facts", {})
    if not isinstance(facts, dict):
        raise RequestError(
            where, f"'facts' must be a JSON object of facts (see `kb facts`); found a JSON {_json_type(facts)}"
        )
    return Request.from_json(data, where)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise RequestError(str(path), f"expected a readable file; {error.strerror or error}") from None


def read_object(path: Path, expected: str) -> dict[str, Any]:
    """The one JSON object a file holds."""
    text = _text(str(path), _read(path))
    if not text.strip():
        raise RequestError(str(path), f"expected {expected}; found an empty file")
    return _object(str(path), text, expected)


def read_request(path: Path) -> Request:
    """The request in a JSON file."""
    return parse_request(read_object(path, "a request (a JSON object)"), str(path))


def read_record(path: Path) -> dict[str, Any]:
    """A decision record written by ``kb evaluate --json`` or ``--batch``, checked before replaying it."""
    record = read_object(path, "a decision record (a JSON object)")
    missing = [key for key in RECORD_KEYS if key not in record]
    if missing:
        raise RequestError(
            str(path), f"expected a decision record with {', '.join(RECORD_KEYS)}; missing {', '.join(missing)}"
        )
    if not isinstance(record["request"], dict):
        raise RequestError(str(path), "expected 'request' to be a JSON object")
    parse_request(record["request"], f"{path}: request")
    return record


@contextmanager
def naming(where: str) -> Iterator[None]:
    """Errors met while deciding a request read from ``where`` name it."""
    try:
        yield
    except RequestError:
        raise
    except KBError as error:
        raise RequestError(where, str(error)) from error


def read_batch(path: Path) -> Iterator[tuple[int, Request | RequestError]]:
    """(line number, request or the error of that line) for each non-blank line of a JSON Lines file."""
    data = _read(path)
    if not data.strip():
        raise RequestError(str(path), "expected one request (a JSON object) per line; found an empty file")
    for number, raw in enumerate(data.split(b"\n"), 1):
        if not raw.strip():
            continue
        where = f"{path}:{number}"
        try:
            text = _text(str(path), raw, number)
            yield number, parse_request(_object(str(path), text, "one request (a JSON object) per line", number), where)
        except RequestError as error:
            yield number, error


def read_requests(path: Path) -> Iterator[Request]:
    """Every request of a JSON Lines file, refusing the file at its first bad line."""
    for _, item in read_batch(path):
        if isinstance(item, RequestError):
            raise item
        yield item
