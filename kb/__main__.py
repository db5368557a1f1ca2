"""`python -m kb` runs the `kb` command."""

from kb.surfaces.cli import cli

cli()
