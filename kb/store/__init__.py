"""The knowledge base file: its tables, a load written as one transaction, publication by rename,
and reading it back ("in force on D, as known at K", the criteria tree, provenance in words, the
text index).

May import: ``kb.model``, ``kb.dates``, ``kb.errors``, ``kb.concepts``, ``kb.predicates``,
``loaders`` and ``revisions``. Never the history, the evaluator or the surfaces.
"""
