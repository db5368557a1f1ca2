"""Decision speed on a corpus policy (CP.PHAR.271, read from the flattened corpus text), beside a
hand-written function of the same criteria measured in the same run. The figures are left out
when the corpus is not beside the checkout."""

from __future__ import annotations

import random
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from kb.bench.harness import Figure, rate
from kb.concepts.facts import Request
from kb.decide.compiled import compile_rules
from kb.surfaces.api import KnowledgeBase

CORPUS_FILE = (
    Path(__file__).resolve().parents[3] / "shared" / "corpus" / "centene" / "CP.PHAR.271_peginterferon-beta-1a.txt"
)
POLICY, DAY = "CP.PHAR.271", date(2025, 8, 1)
DIAGNOSES = {
    "relapsing-remitting MS": True,
    "secondary progressive MS": True,
    "clinically isolated syndrome": True,
    "migraine": False,
}


def corpus_requests(count: int, seed: int = 271) -> list[Request]:
    """Complete initial requests for CP.PHAR.271, varied so that every outcome but pend occurs."""
    pick = random.Random(seed)
    requests = []
    for index in range(count):
        facts = {
            "line_of_business": pick.choice(["Commercial", "HIM", "Medicaid"]),
            "diagnosis": pick.choice([*DIAGNOSES, "relapsing-remitting MS"]),
            "prescriber_specialty": pick.choice(["neurologist", "neurologist", "internist"]),
            "consulting_specialties": [],
            "age_years": pick.choice([16, 18, 40, 70]),
            "concurrent_drugs": pick.choice([[], [], ["Ocrevus"]]),
            "dose": [
                {"value": pick.choice([125, 125, 150]), "unit": "mcg", "per": "14 days"},
                {"value": 1, "unit": "pen", "per": "14 days"},
            ],
        }
        requests.append(Request(POLICY, DAY, "initial", facts, f"bench-271-{index}"))
    return requests


def handwritten(f: dict[str, Any]) -> str:
    """CP.PHAR.271 I.A written by hand on the request's phrases: the floor."""
    if not DIAGNOSES[f["diagnosis"]]:
        return "refer"
    met = (
        f["prescriber_specialty"] == "neurologist"
        and f["age_years"] >= 18
        and not f["concurrent_drugs"]
        and f["dose"][0]["value"] <= 125
        and f["dose"][1]["value"] <= 1
    )
    return "approve" if met else "deny"


def corpus_figures(count: int) -> list[Figure]:
    """Decisions/s on CP.PHAR.271, untraced (compiled) and traced, beside the hand-written function."""
    if not CORPUS_FILE.exists():
        return []
    requests = corpus_requests(count)
    with tempfile.TemporaryDirectory() as folder, KnowledgeBase(Path(folder) / "bench.sqlite") as kb:
        kb.load([CORPUS_FILE])
        decide = compile_rules(kb.rules(POLICY, DAY))["initial"]
        compiled = [decide(r.values, r.date_of_service) for r in requests]
        if compiled != [handwritten(r.facts) for r in requests] or compiled[:500] != [
            kb.evaluate(r).decision for r in requests[:500]
        ]:
            raise AssertionError(
                "CP.PHAR.271: the compiled rules, the traced walk and the hand-written function disagree"
            )

        def untraced() -> int:
            return sum(1 for _ in kb.decide_untraced(requests))

        def traced() -> int:
            return sum(1 for r in requests[: count // 5] if kb.evaluate(r))

        def floor() -> int:
            return sum(1 for r in requests if handwritten(r.facts))

        return [
            rate(
                f"[{POLICY}] evaluate, untraced (compiled, with version lookup)",
                untraced,
                "hand-written Python function",
                floor,
            ),
            rate(f"[{POLICY}] evaluate, full trace (kb.evaluate)", traced, "hand-written Python function", floor),
        ]
