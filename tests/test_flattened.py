"""The flattened text form on a document its normaliser was not written against.

The bundled CP.PHAR.359 is flattened the way the corpus was (one line, a space after every
period, markup and codes stripped, references numbered as the PDFs print them); the one
loader must read the same criteria, durations and revision log from it as from the lines.
"""

from __future__ import annotations

import re

import pytest

from kb.model import Code, Criterion, Duration, PolicyDocument, Reference
from kb.surfaces.api import KnowledgeBase
from loaders.centene import load_path, load_text
from loaders.flattened import is_flattened
from tests.conftest import BUNDLED, CORPUS


def flatten_like_the_corpus(text: str) -> str:
    lines, number, in_references = [], 0, False
    for line in text.splitlines():
        in_references = (in_references or line.startswith("VII. References")) and not line.startswith("Coding")
        if in_references and line.startswith("- "):
            number += 1
            line = f"{number}. {line[2:]}"
        line = re.sub(r"^\s*-\s+", "", line)
        line = re.sub(r"^\*\*(.+?)\*$", r"*\1", line).replace("**", " ")
        lines.append(re.sub(r"\(\*(.+?)\*\)", r"(\1)", line))
    text = re.sub(r"<(https?://[^>]+)>", r"\1", " ".join(lines))
    text = re.sub(r"</?[a-zA-Z][^>]*>", " ", text)
    text = re.sub(r"\[([^\]]*)\]\(#\)", r" \1 ", text).replace("\\geq", "≥")
    text = re.sub(r"\s+", " ", re.sub(r"\bJ\d{4}\b", "", text))
    return re.sub(r"\.(?=\S)", ". ", text).strip()


@pytest.fixture(scope="module")
def both() -> tuple[PolicyDocument, PolicyDocument]:
    flat = flatten_like_the_corpus(BUNDLED.read_text(encoding="utf-8"))
    assert is_flattened(flat) and "CP. PHAR. 359" in flat
    return load_path(BUNDLED), load_text("CP.PHAR.359-flattened.txt", flat)


def test_the_same_criteria_tree(both):
    lines, flattened = both
    assert {c.item_id: (c.label, c.text, c.logic) for c in flattened.of_kind(Criterion)} == {
        c.item_id: (c.label, c.text, c.logic) for c in lines.of_kind(Criterion)
    }
    assert flattened.form == "flattened" and flattened.character_counts()["unparsed"] == 0


def test_the_same_durations_and_revision_log(both):
    lines, flattened = both

    def durations(document):
        return {
            (d.section, d.indication, d.line_of_business, d.months, d.cycle_cap) for d in document.of_kind(Duration)
        }

    assert durations(flattened) == durations(lines)
    assert [(r.date, r.pt_month) for r in flattened.revision_log] == [(r.date, r.pt_month) for r in lines.revision_log]


def test_stripped_codes_and_numbered_references(both):
    _, flattened = both
    assert [(c.code, c.description) for c in flattened.of_kind(Code)] == [
        (None, "Injection, inotuzumab ozogamicin, 0.1 mg")
    ]
    references = flattened.of_kind(Reference)
    assert len(references) == 4 and references[0].url == "https://besponsa.pfizerpro.com"


def test_a_log_row_ending_in_a_policy_number_keeps_its_date():
    # "... references to HIM.PHAR.21 revised to HIM.PA.154." flattened reads "HIM. PA. 154. 06. 28. 21 11. 21"
    flat = flatten_like_the_corpus(BUNDLED.read_text(encoding="utf-8"))
    flat = flat.replace(
        "revised to HIM. PA. 154; references reviewed and updated. 06. 28. 21", "revised to HIM. PA. 154. 06. 28. 21"
    )
    assert "HIM. PA. 154. 06. 28. 21 11. 21" in flat
    document = load_text("CP.PHAR.359-flattened.txt", flat)
    first = document.revision_log[0]
    assert (first.date.isoformat(), first.pt_month.isoformat()) == ("2021-06-28", "2021-11")
    assert first.description.endswith("revised to HIM.PA.154.")


def test_bulleted_references_come_apart():
    flat = flatten_like_the_corpus(BUNDLED.read_text(encoding="utf-8"))
    flat = re.sub(r"(?<= )([1-4])\. (?=(?:Besponsa|National))", "• ", flat)
    references = load_text("CP.PHAR.359-flattened.txt", flat).of_kind(Reference)
    assert [r.url for r in references] == [
        "https://besponsa.pfizerpro.com",
        "http://www.nccn.org/professionals/drug_compendium",
        "https://www.nccn.org/professionals/physician_gls/pdf/all.pdf",
        "https://www.nccn.org/professionals/physician_gls/pdf/ped_all.pdf",
    ]


def test_a_second_products_indications_start_a_paragraph_of_their_own(tmp_path):
    """CP.PHAR.180 lists Promacta's indications, then "Alvaiz is indicated for the treatment of:";
    the flattened text runs the second heading on after Promacta's last bullet."""
    path = CORPUS / "centene" / "CP.PHAR.180_eltrombopag.txt"
    if not path.exists():
        pytest.skip("the corpus is not beside the checkout")
    with KnowledgeBase(tmp_path / "kb.sqlite") as kb:
        kb.load([path])
        texts = [row["text"] for row in kb.show("CP.PHAR.180").records["statement"] if row["kind"] == "fda_indication"]
    assert "Alvaiz is indicated for the treatment of:" in texts
    last_promacta = next(t for t in texts if t.startswith("- Patients with severe aplastic anemia"))
    assert last_promacta.endswith("insufficient response to immunosuppressive therapy.")
