"""The mutation-testing command (kb/bench/mutation.py): its targets exist, survivors are read
as the module says, and the score leaves the equivalent survivors out."""

from __future__ import annotations

import pytest

from kb.bench.mutation import ROOT, TARGETS, Outcome, main, summary, survivors_text


def test_every_core_module_and_its_tests_exist():
    for module, tests in TARGETS.items():
        assert (ROOT / module).is_file(), module
        assert all((ROOT / test).is_file() for test in tests), tests


def _survivor(original: str, mutated: str) -> Outcome:
    return Outcome("loaders/durations.py", 10, original, mutated, caught=False)


@pytest.mark.parametrize(
    ("original", "mutated", "reading"),
    [
        ("@lru_cache(maxsize=4096)", "@lru_cache(maxsize=4097)", "equivalent"),
        ("    months: int | None", "    months: int | None = None", "equivalent"),
        ('    reason = f"no length on {line}"', '    reason = f"XXno length on {line}XX"', "message only"),
        ("    if count >= 2:", "    if count > 2:", "real"),
        ('    return "months"', '    return "XXmonthsXX"', "real"),
    ],
)
def test_a_survivor_is_read_as_equivalent_message_only_or_real(original, mutated, reading):
    assert _survivor(original, mutated).reading() == reading


def test_the_score_counts_only_the_non_equivalent_mutants():
    outcomes = [
        Outcome("m.py", 1, "x = a + b", "x = a - b", caught=True),
        Outcome("m.py", 2, "x = a * b", "x = a / b", caught=True),
        Outcome("m.py", 3, "if a < b:", "if a <= b:", caught=False),
        Outcome("m.py", 4, "@lru_cache(maxsize=64)", "@lru_cache(maxsize=65)", caught=False),
    ]
    # 4 mutants, 2 caught, 1 equivalent survivor: 2 of the 3 that count
    assert summary("m.py", outcomes) == (
        "m.py: 4 mutants, 2 caught, 1 equivalent survivors, 66.7% of the non-equivalent caught"
    )
    assert survivors_text(outcomes).splitlines() == [
        "m.py:3\treal\tif a < b:  =>  if a <= b:",
        "m.py:4\tequivalent\t@lru_cache(maxsize=64)  =>  @lru_cache(maxsize=65)",
    ]


def test_a_module_that_is_not_core_is_refused_by_name(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["kb/surfaces/api.py"])
    assert exit_info.value.code == 2
    assert "not a core module: kb/surfaces/api.py" in capsys.readouterr().err
