"""A policy's history read from the store: diffs of two versions, the revision-log audit and its
mutation check, rule-dependent windows and the review calendar.

May import: the leaves (``kb.model``, ``kb.dates``, ``kb.errors``), ``kb.store``, ``loaders`` and
``revisions``. Never the evaluator or the surfaces.
"""
