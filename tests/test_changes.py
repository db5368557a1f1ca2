"""Change-data files are read strictly: bad keys, values and dates name their line."""

from __future__ import annotations

import pytest

from kb.errors import ChangeDataError
from kb.model import PolicyState
from revisions.changes import apply_backwards, parse_changeset

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


REMOVED_BY_THE_REVISION = """policy = "CP.PHAR.359"
revision = 2025-07-15
version = "V2025-11"

[[change]]
action = "remove"
kind = "cross_reference"
key = "I.B.1.a:no coverage criteria:HIM"
clause = 1
[change.before]
item_id = "I.B.1.a"
line_of_business = "HIM"
role = "no coverage criteria"
policy_ref = "HIM.PA.33"
"""


def test_change_data_that_would_overwrite_a_record_the_version_holds_is_refused(document):
    """Undoing a removal puts the record back; where the version already holds its key, the
    change data is wrong, and the record is never overwritten."""
    changeset = parse_changeset("removed.toml", REMOVED_BY_THE_REVISION)
    with pytest.raises(ChangeDataError) as caught:
        apply_backwards(PolicyState.of(document.records), changeset, {1: "a clause"})
    assert caught.value.line == 5
    assert caught.value.expected == "no cross_reference 'I.B.1.a:no coverage criteria:HIM' after its removal"
