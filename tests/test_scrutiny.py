"""Issue 23, point 1: an operation's change of logic, polarity, negation or value must be one its
clause states (kb/history/scrutiny.py, reading texts with kb/history/meaning.py)."""

from __future__ import annotations

from kb.history.meaning import meaning_of
from kb.history.scrutiny import unstated
from kb.model import Logic
from revisions.changes import Operation


def _op(action: str, before: str | None, after: str | None) -> Operation:
    values = lambda text: {"text": text} if text else {}  # noqa: E731
    return Operation(action, "criterion", "X", 1, "log", "medium", values(before), values(after), None, 1)


def test_a_text_states_its_logic_polarity_negation_and_values():
    reading = meaning_of("If Philadelphia chromosome-negative, both of the following (i and ii):")
    assert reading.logic is Logic.ALL and reading.polarities == {("chromosome", "negative")}
    assert meaning_of("Age ≥ 65 years or substantial comorbidities;").values == {"65 year"}
    assert meaning_of("disease that is not relapsed").negations == 1
    assert meaning_of("with a TKI").polarities == {("tki", "with")}


def test_a_polarity_turned_as_the_clause_says_is_no_problem():
    op = _op(
        "update",
        "If Philadelphia chromosome-positive, age ≥ 15 years;",
        "If Philadelphia chromosome-negative, age ≥ 15 years;",
    )
    assert unstated(op, 1, "changed the age option to Philadelphia chromosome-negative disease") == []
    assert unstated(op, 1, "updated the age option") == [
        "reads chromosome negative, but clause #1 names chromosome nothing"
    ]


def test_a_removal_about_the_other_polarity_is_a_problem():
    """Log 08.02.22: "for Philadelphia chromosome-positive disease removal of requirement ... TKI"."""
    clause = "for Philadelphia chromosome-positive disease removal of requirement of intolerant or refractory to TKI per NCCN"
    honest = _op("update", "Disease is relapsed; if Philadelphia chromosome-positive, TKI;", "Disease is relapsed;")
    forged = _op("update", "Disease is relapsed; if Philadelphia chromosome-negative, TKI;", "Disease is relapsed;")
    assert unstated(honest, 1, clause) == []
    assert unstated(forged, 1, clause) == ["reads chromosome negative, but clause #1 names chromosome positive"]


def test_a_logic_or_value_the_clause_does_not_state_is_a_problem():
    """Log 08.06.23: 'corrected “and” to “or”'; RT4: 'updated age to ≥ 15 years'."""
    logic = _op("update", "Disease meets both of the following (a and b):", "One of the following (a or b):")
    assert unstated(logic, 2, "corrected “and” to “or” for scenarios of either ...") == []
    assert unstated(logic, 2, "references reviewed and updated") == [
        "changes the logic from all to any, which clause #2 does not state"
    ]
    value = _op("update", "Age ≥ 65 years or substantial comorbidities;", "Age ≥ 16 years;")
    assert unstated(value, 2, "updated age to ≥ 15 years") == [
        "states 16 year after the revision, which clause #2 does not name"
    ]


def test_a_negation_the_clause_does_not_state_is_a_problem():
    op = _op("update", "Member is responding to therapy;", "Member is not responding to therapy;")
    assert unstated(op, 1, "clarified the response criterion") == [
        "adds or removes a negation ('Member is responding to therapy;' -> 'Member is not responding to therapy;'), "
        "which clause #1 does not state"
    ]
