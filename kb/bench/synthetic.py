"""A synthetic corpus at payer scale, made from the real template: N policies x M versions.

Each policy is the bundled CP.PHAR.359 document and its change data with the drug, the
reference number, the age thresholds, the cycle cap, the approval length and the lines of
business varied by a seeded generator, plus M - 6 later revisions (a criterion reworded, one
inserted) written both into the document's revision log and as change data. The output is
files, so that a load goes through the real loaders and revisions, not around them.
Deterministic: the same seed gives the same bytes.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from kb.surfaces.api import BUNDLED_CHANGES, bundled_policy_paths

TEMPLATE_POLICY = "CP.PHAR.359"
TEMPLATE_VERSIONS = 6
LINES_OF_BUSINESS = ("Commercial, HIM, Medicaid", "HIM, Medicaid", "Commercial, Medicaid", "Commercial, HIM, Medicaid")
PRESCRIBER = (
    "Prescribed by or in consultation with an oncologist or hematologist;",
    "Prescribed by or in consultation with a hematologist or oncologist;",
)
INSERTED = "Member does not have active hepatic veno-occlusive disease;"
SYLLABLES = ("ba", "ce", "di", "fo", "gu", "la", "me", "no", "pi", "ro", "sa", "te", "vi", "xo", "zu")


@dataclass(frozen=True)
class Variation:
    """What makes one synthetic policy differ from the template."""

    policy_id: str
    generic: str
    brand: str
    code: str
    pediatric_age: int
    adolescent_age: int
    frontline_age: int
    cycles: int
    months: int
    lines_of_business: str

    @classmethod
    def draw(cls, index: int, pick: random.Random) -> Variation:
        stem = "".join(pick.choice(SYLLABLES) for _ in range(3))
        return cls(
            policy_id=f"CP.SYN.{index:06d}",
            generic=f"{stem}mab",
            brand=f"{stem.capitalize()}ra",
            code=f"J{pick.randrange(1000, 9999)}",
            pediatric_age=pick.choice((1, 2, 12)),
            adolescent_age=pick.choice((14, 15, 16)),
            frontline_age=pick.choice((16, 18, 21)),
            cycles=pick.choice((4, 6, 8)),
            months=pick.choice((3, 6, 12)),
            lines_of_business=pick.choice(LINES_OF_BUSINESS),
        )

    def apply(self, text: str) -> str:
        """The same substitutions on document and change data, so that they stay consistent."""
        years = "year" if self.pediatric_age == 1 else "years"
        for geq in ("\\geq", "≥"):
            text = text.replace(f"Age {geq} 1 year", f"Age {geq} {self.pediatric_age} {years}")
            text = text.replace(f"age {geq} 18 years", f"age {geq} {self.frontline_age} years")
            text = text.replace(f"Age {geq} 15 years", f"Age {geq} {self.adolescent_age} years")
            text = text.replace(f"age to {geq} 15 years", f"age to {geq} {self.adolescent_age} years")
        text = re.sub(r"\b6 cycles\b", f"{self.cycles} cycles", text)
        text = re.sub(r"\b6 months(?= \(| or to)", f"{self.months} months", text)
        text = text.replace(TEMPLATE_POLICY, self.policy_id).replace("J9229", self.code)
        text = text.replace("Inotuzumab Ozogamicin", self.generic.capitalize()).replace(
            "inotuzumab ozogamicin", self.generic
        )
        return text.replace("Besponsa", self.brand)


@dataclass(frozen=True)
class LaterRevision:
    """A revision after the template's own history: Date, P&T month and what it changed."""

    number: int
    written: date
    pt_month: date

    @property
    def inserts(self) -> bool:
        return self.number == 1

    @property
    def prescriber(self) -> str:
        return PRESCRIBER[self.number % 2]

    @property
    def description(self) -> str:
        parts = ["reworded the prescriber criterion"]
        if self.inserts:
            parts.append("added a criterion on hepatic veno-occlusive disease")
        return f"{self.pt_month.year} annual review {self.number}: " + "; ".join(parts) + "."

    def log_row(self) -> str:
        return f"{self.description}\t{self.written:%m.%d.%y}\t{self.pt_month:%m.%y}"

    def change_data(self, policy_id: str, before: str) -> str:
        changes = [
            _change(
                "update", "I.A.2", f'[change.before]\ntext = "{before}"\n[change.after]\ntext = "{self.prescriber}"'
            ),
        ]
        if self.inserts:
            changes.append(_change("insert", "I.A.8", f'[change.after]\ntext = "{INSERTED}"'))
        return (
            f'policy = "{policy_id}"\nrevision = {self.written.isoformat()}\nversion = "V{self.pt_month:%Y-%m}"\n\n'
            + "\n".join(changes)
        )


def _change(action: str, key: str, body: str) -> str:
    return (
        f'[[change]]\naction = "{action}"\nkind = "criterion"\nkey = "{key}"\nclause = 1\n'
        f'source = "log"\nconfidence = "high"\n{body}\n'
    )


def later_revisions(count: int) -> list[LaterRevision]:
    first = date(2026, 1, 15)
    return [
        LaterRevision(n, first + timedelta(days=61 * (n - 1)), _month_after(first + timedelta(days=61 * (n - 1))))
        for n in range(1, count + 1)
    ]


def _month_after(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def document_text(template: str, variation: Variation, revisions: list[LaterRevision]) -> str:
    """The template document, varied, with the later revisions applied and logged."""
    text = variation.apply(template)
    if not revisions:
        return text
    text = text.replace(PRESCRIBER[0], revisions[-1].prescriber, 1)
    first_footnote = "\n**Prescribed regimen must be FDA-approved or recommended by NCCN.*"
    text = text.replace(first_footnote, f"8. {INSERTED}\n{first_footnote}", 1)
    rows = "\n".join(revision.log_row() for revision in revisions)
    text = re.sub(r"(\t07\.15\.25\t11\.25)\n", rf"\1\n{rows}\n", text, count=1)
    return re.sub(r"Last Review Date: \d{2}\.\d{2}", f"Last Review Date: {revisions[-1].pt_month:%m.%y}", text, count=1)


def generate(folder: Path, policies: int, versions: int = 7, seed: int = 359) -> list[Path]:
    """Write ``policies`` documents and their change data under ``folder``; return the documents."""
    if versions < TEMPLATE_VERSIONS:
        raise ValueError(f"the template holds {TEMPLATE_VERSIONS} versions; ask for at least that many")
    template = bundled_policy_paths()[0].read_text(encoding="utf-8")
    change_files = {p.name: p.read_text(encoding="utf-8") for p in (BUNDLED_CHANGES / TEMPLATE_POLICY).glob("*.toml")}
    revisions = later_revisions(versions - TEMPLATE_VERSIONS)
    pick = random.Random(seed)
    paths = []
    (folder / "policies").mkdir(parents=True, exist_ok=True)
    for index in range(1, policies + 1):
        variation = Variation.draw(index, pick)
        path = folder / "policies" / f"{variation.policy_id}.txt"
        path.write_text(document_text(template, variation, revisions), encoding="utf-8")
        changes = folder / "changes" / variation.policy_id
        changes.mkdir(parents=True, exist_ok=True)
        for name, text in change_files.items():
            (changes / name).write_text(variation.apply(text), encoding="utf-8")
        before = PRESCRIBER[0]
        for revision in revisions:
            (changes / f"{revision.written.isoformat()}.toml").write_text(
                revision.change_data(variation.policy_id, before), encoding="utf-8"
            )
            before = revision.prescriber
        paths.append(path)
    return paths
