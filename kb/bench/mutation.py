"""Mutation testing of the core: does the suite notice a change a user would?

Each mutant (mutmut 2.5.1's operators: a number, an operator, a keyword, a string changed) is
written into a copy of the tree and the tests that cover its module are run against it; a mutant
no test fails *survived*. Survivors are written to a file, one per line, with a first reading:

- ``equivalent``: the change cannot alter behaviour (an annotation, a cache size, a docstring);
- ``message only``: only the wording of a message or note changes (a string in an f-string);
- ``real``: anything else, to be read (a test is missing, or the reading is wrong).

The score is caught / (mutants - equivalent). Slow (one pytest run per mutant): not part of CI.
Run it as ``python -m kb.bench.mutation [MODULE ...] [--out mutants.txt]``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGETS: dict[str, tuple[str, ...]] = {
    "kb/concepts/match.py": ("tests/test_concepts.py", "tests/test_icd_names.py"),
    "loaders/durations.py": ("tests/test_durations.py", "tests/test_loader.py"),
    "kb/store/asof.py": ("tests/test_store.py", "tests/test_json_schemas.py", "tests/test_windows.py"),
    "kb/history/diff.py": ("tests/test_diff.py", "tests/test_diff_effective.py", "tests/test_diff_kinds.py"),
    "kb/history/audit.py": ("tests/test_audit.py", "tests/test_successive.py"),
    "kb/decide/compiled.py": ("tests/test_evaluate.py", "tests/test_decisions.py"),
}
"""Each core module and the test files that cover it (the tests a mutant of it is run against)."""

EQUIVALENT_LINE = re.compile(r"maxsize|^\s*(from|import)\s|^\s*[A-Za-z_][\w.]*\s*:\s*[^=]+$")
"""Lines whose change cannot alter an answer: cache sizes, imports, bare annotations."""


@dataclass(frozen=True)
class Outcome:
    """One mutant and what the tests did with it."""

    module: str
    line_number: int
    original: str
    mutated: str
    caught: bool

    def reading(self) -> str:
        """The first reading of a survivor: equivalent, message only, or real."""
        if EQUIVALENT_LINE.search(self.original) or self.original.strip().startswith(('"""', "'''")):
            return "equivalent"
        if "XX" in self.mutated and re.search(r"\bf[\"']", self.original):
            return "message only"
        return "real"


def _copy_tree(destination: Path) -> Path:
    """The project's files (no virtual environment, no git data) copied under ``destination``,
    beside a link to the shared corpus the tests read (``../shared``)."""
    shared = ROOT.parent / "shared"
    if shared.exists():
        (destination / "shared").symlink_to(shared)
    ignore = shutil.ignore_patterns(".venv", ".git", "__pycache__", "*.sqlite", ".pytest_cache", "node_modules")
    return Path(shutil.copytree(ROOT, destination / "tree", ignore=ignore))


def _tests_fail(tree: Path, tests: tuple[str, ...], timeout: int) -> bool:
    """Whether the tests fail (or hang) on the tree as it now stands."""
    environment = {**os.environ, "PYTHONPATH": str(tree), "PYTHONDONTWRITEBYTECODE": "1"}
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    try:
        result = subprocess.run(command, cwd=tree, env=environment, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return True
    return result.returncode != 0


def mutate_module(tree: Path, module: str, timeout: int = 300) -> list[Outcome]:
    """Every mutant of ``module`` run against the tests that cover it (the module is restored)."""
    from mutmut import Context, list_mutations, mutate

    path = tree / module
    source = path.read_text(encoding="utf-8")
    tests = tuple(t for t in TARGETS[module] if (tree / t).exists())
    if _tests_fail(tree, tests, timeout):
        raise RuntimeError(f"{module}: its tests fail before any mutation ({' '.join(tests)})")
    outcomes = []
    try:
        for mutation in list_mutations(Context(source=source, filename=module)):
            mutated, _ = mutate(Context(source=source, mutation_id=mutation, filename=module))
            path.write_text(mutated, encoding="utf-8")
            line = mutation.line_number
            outcomes.append(
                Outcome(
                    module,
                    line + 1,
                    source.splitlines()[line],
                    mutated.splitlines()[line],
                    _tests_fail(tree, tests, timeout),
                )
            )
    finally:
        path.write_text(source, encoding="utf-8")
    return outcomes


def summary(module: str, outcomes: list[Outcome]) -> str:
    """One line of figures: mutants, caught, equivalent survivors, score of the non-equivalent."""
    caught = sum(o.caught for o in outcomes)
    equivalent = sum(1 for o in outcomes if not o.caught and o.reading() == "equivalent")
    counted = len(outcomes) - equivalent
    score = f"{caught / counted:.1%}" if counted else "n/a"
    return (
        f"{module}: {len(outcomes)} mutants, {caught} caught, {equivalent} equivalent survivors, "
        f"{score} of the non-equivalent caught"
    )


def survivors_text(outcomes: list[Outcome]) -> str:
    """The survivors, one per line: module:line, reading, and the mutated line."""
    return "".join(
        f"{o.module}:{o.line_number}\t{o.reading()}\t{o.original.strip()}  =>  {o.mutated.strip()}\n"
        for o in outcomes
        if not o.caught
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kb.bench.mutation", description=__doc__.split("\n")[0])
    parser.add_argument("modules", nargs="*", default=list(TARGETS), help="core modules (default: all)")
    parser.add_argument("--out", type=Path, default=Path("mutants.txt"), help="where survivors are written")
    arguments = parser.parse_args(argv)
    unknown = [m for m in arguments.modules if m not in TARGETS]
    if unknown:
        parser.error(f"not a core module: {', '.join(unknown)} (expected one of {', '.join(TARGETS)})")
    lines, survivors = [], []
    with tempfile.TemporaryDirectory(prefix="kb-mutation-") as scratch:
        tree = _copy_tree(Path(scratch))
        for module in arguments.modules:
            outcomes = mutate_module(tree, module)
            lines.append(summary(module, outcomes))
            survivors.append(survivors_text(outcomes))
            print(lines[-1], flush=True)
    arguments.out.write_text("".join(survivors), encoding="utf-8")
    print(f"survivors written to {arguments.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
