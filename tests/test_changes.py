"""Change-data files are read strictly: bad keys, values and dates name their line."""

from __future__ import annotations

import pytest

from kb.errors import ChangeDataError
from revisions.changes import parse_changeset

GOOD = """policy = "CP.PHAR.359"
revision = 2025-07-15
version = "V2025-11"

[[change]]
action = "insert"
kind = "criterion"
key = "I.A.5.b"
clause = 2
[change.after]
text = "x"
"""


def test_good_file_reads():
    changeset = parse_changeset("good.toml", GOOD)
    assert changeset.version == "V2025-11" and changeset.operations[0].line == 5


@pytest.mark.parametrize(
    ("text", "line", "expected"),
    [
        (GOOD.replace('action = "insert"', 'action = "rewrite"'), 5, "action one of"),
        (GOOD.replace("clause = 2", "clause = 2\ncolour = 1"), 5, "change keys among"),
        (GOOD.replace("revision = 2025-07-15", 'revision = "13.45.24"'), 2, "TOML date"),
        (GOOD.replace('text = "x"', 'txt = "x"'), 5, "fields of a criterion"),
        (GOOD.replace('version = "V2025-11"', 'version = "V2025-11"\nversion = "again"'), 4, "valid TOML"),
    ],
)
def test_bad_files_name_line_and_expectation(text, line, expected):
    with pytest.raises(ChangeDataError) as caught:
        parse_changeset("bad.toml", text)
    assert caught.value.line == line and expected in caught.value.expected
