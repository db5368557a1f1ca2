"""The search page: any typed text is searched as words, and each hit says where it stands in
the policy (section and item, page and line of the document) and links to the policy as it read
in each version in which the text stood.

FTS5 gives quotes and operators (``"``, ``AND``, ``NEAR``, ``*``) a meaning of their own, and a
lone quote is a syntax error; here every word a person types is quoted, so the query is the
words, all of them required, in any order (porter stemming: "renewals" finds "renewal").
"""

from __future__ import annotations

import re
from typing import Any

from kb.store.search import SEARCHED
from kb.surfaces.api import KnowledgeBase
from kb.surfaces.site.cells import readable
from kb.surfaces.site.coverage import page_of
from kb.surfaces.site.navigation import policy_url

WORD = re.compile(r"\w+")
LIMIT = 200
"""Hits shown on a page, best first."""


def fts_query(text: str) -> str | None:
    """The FTS5 query for ``text``: each word quoted, all required; None where it holds no word."""
    words = WORD.findall(text)
    return " ".join(f'"{word}"' for word in words) if words else None


def _where_read(kb: KnowledgeBase, hit: dict[str, Any]) -> dict[str, Any]:
    """The document, line and page of the last row a hit rests on (None for text not read from a document)."""
    if hit["kind"] not in SEARCHED:
        return {}
    row = kb.connection.execute(
        f"SELECT r.document_sha256, r.first_line, d.path FROM {hit['kind']} r"
        " LEFT JOIN source_document d ON d.sha256 = r.document_sha256"
        " WHERE r.policy_id = ? AND r.record_key = ? AND r.superseded_at IS NULL AND r.source = 'document'"
        " ORDER BY r.valid_from DESC LIMIT 1",
        (hit["policy_id"], hit["record_key"]),
    ).fetchone()
    if row is None or row["first_line"] is None:
        return {}
    return {
        "line": row["first_line"],
        "page": page_of(kb, row["document_sha256"], row["first_line"]),
        "document": row["path"].rsplit("/", 1)[-1] if row["path"] else None,
    }


def search(kb: KnowledgeBase, text: str) -> list[dict[str, Any]]:
    """The passages holding every word of ``text``, best first, each with its place and version links."""
    query = fts_query(text)
    if query is None:
        return []
    rows = kb.connection.execute(
        "SELECT p.* FROM passage_fts JOIN passage p ON p.id = passage_fts.rowid WHERE passage_fts MATCH ?"
        " ORDER BY passage_fts.rank, p.policy_id LIMIT ?",
        (query, LIMIT),
    ).fetchall()
    hits = []
    for row in rows:
        hit = dict(row)
        hit["text"] = readable(hit["text"])
        hit["links"] = [(label, policy_url(hit["policy_id"], label)) for label in hit["versions"].split(", ")]
        hit.update(_where_read(kb, hit))
        hits.append(hit)
    return hits
