"""policy-as-data: a versioned knowledge base of health-plan clinical drug policies.

The data flows one way, and the tree follows it::

    loaders/ (pure)  ->  kb.model  ->  revisions/ (pure)
        -> kb.concepts, kb.predicates   (the vocabulary; criteria text read into predicates)
        -> kb.store                     (the SQLite file; "in force on D, as known at K")
        -> kb.history, kb.decide        (diffs and the audit; decisions)
        -> kb.surfaces                  (Python API, CLI, exports, Datasette site, FHIR)
    kb.bench, kb.reliability            (measuring the above)

``kb.model``, ``kb.dates`` and ``kb.errors`` are the leaves every stage imports.
``from kb import KnowledgeBase`` is the Python API (``kb.surfaces.api``).
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    """``kb.KnowledgeBase``, imported when first asked for (a command need not load the API)."""
    if name == "KnowledgeBase":
        from kb.surfaces.api import KnowledgeBase

        return KnowledgeBase
    raise AttributeError(f"module 'kb' has no attribute {name!r}")
