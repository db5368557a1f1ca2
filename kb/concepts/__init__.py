"""The vocabulary of a request: the facts it may state (``facts``, data in ``facts.toml``), the
clinical concepts its words and codes mean (``vocabulary``, ``codes``, data in ``data/``),
quantities with units (``quantity``) and three-valued matching of a value against a concept
(``match``). See README.md beside this file.

May import only the leaves (``kb.model``, ``kb.dates``, ``kb.errors``).
"""
