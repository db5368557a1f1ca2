"""The Datasette plugin: the site a compliance officer works in.

Registered through the ``datasette`` entry point (this package); its hooks live in small
modules: ``pages`` (home, policy, diff and coverage pages, and the notes above each canned
query), ``cells`` (policy text as it reads in table cells), ``errors`` (read-only, no 500 for a
bad request), ``feed`` (Atom), ``cds`` (the CDS Hooks service of Da Vinci CRD), ``search`` (the
search page), ``labels`` (the words of canned query pages), ``warm`` (the CDS service warmed at
start). The canned queries are built in
``queries`` and kept in datasette_metadata.json.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from kb.surfaces.site.cds import skip_csrf
from kb.surfaces.site.cells import render_cell
from kb.surfaces.site.errors import asgi_wrapper, handle_exception
from kb.surfaces.site.feed import register_output_renderer
from kb.surfaces.site.pages import extra_template_vars, register_routes
from kb.surfaces.site.warm import startup

__all__ = [
    "asgi_wrapper",
    "extra_template_vars",
    "handle_exception",
    "register_output_renderer",
    "register_routes",
    "render_cell",
    "site_metadata",
    "skip_csrf",
    "startup",
]


def site_metadata(metadata: Path, database: str) -> Path:
    """The metadata file for a database named ``database``: as is for "kb", else a copy under that
    name, held in memory (a file descriptor the ``datasette`` process inherits across exec), so
    that serving leaves no file behind; where memory files do not exist, a temporary file."""
    if database == "kb":
        return metadata
    data = json.loads(metadata.read_text(encoding="utf-8"))
    data["databases"] = {database: data["databases"]["kb"]}
    text = json.dumps(data, ensure_ascii=False).encode("utf-8")
    if not hasattr(os, "memfd_create"):
        copy = Path(tempfile.mkdtemp(prefix="kb-site-")) / "datasette_metadata.json"
        copy.write_bytes(text)
        return copy
    descriptor = os.memfd_create("datasette_metadata.json", 0)
    os.write(descriptor, text)
    os.lseek(descriptor, 0, os.SEEK_SET)
    os.set_inheritable(descriptor, True)
    return Path(f"/dev/fd/{descriptor}")
