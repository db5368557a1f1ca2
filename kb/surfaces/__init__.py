"""What people and systems use: the Python API (``KnowledgeBase``), the ``kb`` command, exports
and reports, the Datasette site and the FHIR (Da Vinci PAS, CRD, DTR) answers.

Strings become typed values here, once; everything below takes dates and timestamps as types.
May import every capability package; nothing below imports a surface.
"""
