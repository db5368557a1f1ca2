"""The ``kb`` command: a thin layer over ``kb.surfaces.api.KnowledgeBase``.

Each command parses its arguments, calls one API method, formats the result and maps the
project's errors to a clear message and a non-zero exit. The group and its shared options are
in ``base``; each module beside it registers the commands of one capability.
"""

from kb.surfaces.cli import decide, load, read, tools  # noqa: F401  (each registers its commands)
from kb.surfaces.cli.base import cli

__all__ = ["cli"]
