"""Decisions: a version's criteria made executable (three-valued, traced or compiled) and what a
decision says (approve with its duration, deny naming the criterion, pend asking a question).

May import: the leaves, ``kb.concepts``, ``kb.predicates`` and ``kb.store``. Never the history or
the surfaces.
"""
