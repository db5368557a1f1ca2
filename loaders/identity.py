"""Record identity within a document: every record gets a key no other record of it holds.

A record's ``identity`` (an item's label path, a footnote's marker, a reference's web page, a
cross-reference's item, role and line of business) can legitimately repeat: one item names two
continuity-of-care policies, one indication prints two "*" notes, two reports share a site. The
n-th record with an identity gets ``occurrence`` n, which its key carries from the second on;
the first keeps the key it always had, so versions and change data still match it.

Two criteria with one label path are not the template's layout but a misprint or a misreading
(two items numbered "2." in one list): both are kept, and the second is flagged suspect.
"""

from __future__ import annotations

from dataclasses import replace

from kb.model import Criterion, Record
from loaders.context import ParseContext


def with_unique_keys(ctx: ParseContext, records: list[Record]) -> list[Record]:
    """The records in order, each repeat of an identity numbered by its occurrence."""
    seen: dict[tuple[str, str], int] = {}
    unique: list[Record] = []
    for record in records:
        identity = (record.KIND, record.identity)
        seen[identity] = seen.get(identity, 0) + 1
        if seen[identity] > 1:
            record = replace(record, occurrence=seen[identity])
            if isinstance(record, Criterion):
                ctx.doubt_span(
                    record.provenance.span,
                    "label",
                    f"a second item numbered {record.item_id}: kept as {record.key}, its place in the tree is uncertain",
                )
        unique.append(record)
    return unique
