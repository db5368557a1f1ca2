"""Policy text as a reader expects it, in table cells and on the plugin pages.

Criteria are indented by depth with their logic words marked and each footnote beside its
marker; elements not read from a document carry their source; links the queries build become
links. Every piece of policy text is escaped here (it is third-party input): markup is only
ever built around ``escape``d text.
"""

from __future__ import annotations

import re
from typing import Any

from datasette import hookimpl
from markupsafe import Markup, escape

LOGIC_WORDS = re.compile(
    r"\((?:must meet [^)]*)\)"
    r"|\b(?:one|both|all|any|none|either|two|three|four)\s+of\s+the\s+following(?:\s+\([^)]*\))?"
    r"|\((?:[a-z]{1,4}|\d{1,2})(?:,?\s+(?:or|and)\s+(?:[a-z]{1,4}|\d{1,2})|,\s+(?:[a-z]{1,4}|\d{1,2}))+\)",
    re.IGNORECASE,
)
"""The template's logic words: "(must meet all)", "one of the following (a or b)", a bare "(i or ii)"."""
SYMBOLS = re.compile(r"\[([™®©])\]")
"""A trademark sign the text conversion bracketed ("Besponsa[™]"): shown as the sign itself."""
NOT_A_SOURCE = re.compile(r"[^a-z0-9]+")
LINK_TEXT = {"diff": "diff", "as_read": "as it read", "diff_from_previous": "diff from previous"}


SYMBOL_FONT_BULLETS = str.maketrans({"\uf0a7": "▪", "\uf0b7": "•"})
"""Bullets a PDF's text kept as private-use code points of the Wingdings and Symbol fonts (U+F0A7 is
Wingdings' small square, U+F0B7 Symbol's bullet): without the font they show as a box."""


def readable(text: str) -> str:
    """Policy text as printed: bracketed trademark signs restored, symbol-font bullets shown as bullets."""
    return SYMBOLS.sub(r"\1", text).translate(SYMBOL_FONT_BULLETS)


def segments(text: str) -> list[tuple[str, bool]]:
    """``text`` cut into ``(piece, is_logic_words)`` pieces, for templates to escape and mark."""
    pieces: list[tuple[str, bool]] = []
    last = 0
    for match in LOGIC_WORDS.finditer(text):
        if match.start() > last:
            pieces.append((text[last : match.start()], False))
        pieces.append((match.group(0), True))
        last = match.end()
    if last < len(text):
        pieces.append((text[last:], False))
    return pieces


def marked(text: str) -> Markup:
    """Escaped text with its logic words in a marked span."""
    return Markup("").join(
        Markup('<span class="kb-logic">{}</span>').format(piece) if logic else escape(piece)
        for piece, logic in segments(readable(text))
    )


def source_kind(source: str | None) -> str | None:
    """The CSS class of what a row rests on ("log 2024-07-11 (...)" -> "log", "copy-11.23" -> "copy-11-23");
    None for text read from a document (any source but "document" is marked)."""
    kind = (source or "").split(" ")[0].lower()
    if kind in ("", "document"):
        return None
    return NOT_A_SOURCE.sub("-", kind).strip("-") or "other"


def _criterion(row: Any, value: str) -> Markup:
    item, _, footnote = value.partition("\n")
    depth = row["depth"] or 0
    html = Markup('<div class="kb-criterion{}" style="padding-left:{:.1f}em">{}').format(
        " kb-root" if depth == 0 else "", depth * 1.6, marked(item)
    )
    if footnote:
        html += Markup('<div class="kb-footnote">{}</div>').format(readable(footnote))
    return html + Markup("</div>")


def _versions(row: Any, value: str) -> Markup:
    links = [
        Markup('<a href="/-/kb/policy?policy={}&amp;as_of={}">{}</a>').format(row["policy_id"], label, label)
        for label in value.split(", ")
    ]
    return Markup(", ").join(links)


@hookimpl
def render_cell(row: Any, value: Any, column: str, table: str | None, database: str, datasette: Any) -> Markup | None:
    """Criteria as the policy reads, sources marked, version labels and built links as links."""
    keys = row.keys()
    if column == "criterion" and "depth" in keys and isinstance(value, str):
        return _criterion(row, value)
    if column == "source" and isinstance(value, str) and source_kind(value):
        return Markup(
            '<span class="kb-source kb-source-{}" title="not read from a document: reconstructed or unknown">{}</span>'
        ).format(source_kind(value), value)
    if column == "versions" and table == "passage" and isinstance(value, str):
        return _versions(row, value)
    if column in ("clauses", "text") and isinstance(value, str) and "\n" in value:
        return Markup("<br>").join(readable(line) for line in value.split("\n"))
    if isinstance(value, str) and value.startswith("/-/kb/") and " " not in value:
        return Markup('<a href="{}">{}</a>').format(value, LINK_TEXT.get(column, column.replace("_", " ")))
    if isinstance(value, str) and readable(value) != value:
        return Markup("{}").format(readable(value))
    return None
