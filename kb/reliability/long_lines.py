"""Long lines: the bundled policy with one criterion of a very long line, and how long its load
takes beside the load of the policy as it is.

Each line repeats one kind of text (letters, stars, digits, dots, parentheses, words,
punctuation): the kinds that made regular expressions backtrack on a long line. A load is
measured as a ratio to loading the plain document, so the figure does not depend on the machine.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kb.errors import KBError
from kb.surfaces.api import KnowledgeBase, bundled_policy_paths

SLOW = 12
"""A load of one long item may take at most this many times the plain load: a regular expression
that backtracks quadratically takes minutes on 200,000 characters (the plain load, under a second)."""
LAST_ITEM = "(*prescriber must submit supporting evidence*).\n"
"""The end of the bundled policy's last item of section I.A: the long item goes after it."""
KINDS: dict[str, Callable[[int], str]] = {
    "letters": lambda n: "a" * n,
    "stars": lambda n: "*" * n,
    "stars and letters": lambda n: ("*" * 50 + "x") * (n // 51),
    "digits": lambda n: "1" * n,
    "dots": lambda n: "." * n,
    "parentheses": lambda n: "(" * (n // 2) + ")" * (n // 2),
    "parenthesised letters": lambda n: "(a) " * (n // 4),
    "words": lambda n: " ".join(["diagnosis of acute leukemia or age"] * (n // 36)),
    "semicolons": lambda n: ";" * n + "x",
}


def with_long_item(text: str, payload: str) -> str:
    """The policy with ``payload`` as a new last item (8.) of its first criteria set."""
    if LAST_ITEM not in text:
        raise ValueError("the bundled policy no longer ends section I.A with the item this probe expects")
    return text.replace(LAST_ITEM, f"{LAST_ITEM}8. {payload};\n", 1)


@dataclass(frozen=True)
class LongLoad:
    kind: str
    characters: int
    seconds: float
    ratio: float
    outcome: str


def timed_load(folder: Path, text: str) -> tuple[float, str]:
    """Seconds to load ``text`` into a new knowledge base in ``folder``, and what became of it."""
    document = folder / "CP.PHAR.359_long.txt"
    document.write_text(text, encoding="utf-8")
    start = time.perf_counter()
    try:
        KnowledgeBase(folder / "kb.sqlite").load([document], workers=1)
        outcome = "loaded"
    except KBError as error:
        outcome = f"refused: {error}"
    return time.perf_counter() - start, outcome


def long_loads(characters: int, kinds: dict[str, Callable[[int], str]] = KINDS) -> list[LongLoad]:
    """One load per kind of a ``characters``-long item, each timed as a ratio to the plain load
    (the faster of two, so one slow moment of a shared machine does not set the scale)."""
    text = bundled_policy_paths()[0].read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as scratch:
        folders = iter(Path(scratch, str(n)) for n in range(len(kinds) + 2))

        def load(document: str) -> tuple[float, str]:
            folder = next(folders)
            folder.mkdir()
            return timed_load(folder, document)

        plain = min(load(text)[0], load(text)[0])
        loads = []
        for kind, payload in kinds.items():
            seconds, outcome = load(with_long_item(text, payload(characters)))
            loads.append(LongLoad(kind, characters, seconds, seconds / plain, outcome))
    return loads
