"""The CDS service is warmed at start with a hook request of its own: it must be a request the
service answers (for a drug the knowledge base holds), and warming must write nothing."""

from __future__ import annotations

import json

from kb.surfaces.site.cds import answer_body
from kb.surfaces.site.warm import warm, warm_up_request


def test_the_warm_up_request_is_answered_for_a_loaded_drug(loaded_kb):
    # J9229 is Besponsa's HCPCS code (CP.PHAR.359's coding implications)
    response = answer_body(
        str(loaded_kb.path), "policy-as-data-order-sign", json.dumps(warm_up_request("J9229")).encode()
    )
    assert [card["summary"].startswith("Inotuzumab ozogamicin (Besponsa)") for card in response["cards"]] == [True]
    assert "CP.PHAR.359" in response["cards"][0]["summary"]


def test_warming_writes_nothing_and_says_nothing(loaded_kb, capsys):
    before = loaded_kb.path.read_bytes()
    warm(str(loaded_kb.path))
    assert loaded_kb.path.read_bytes() == before
    assert "not warmed" not in capsys.readouterr().err
