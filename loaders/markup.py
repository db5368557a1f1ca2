"""Turning the source's markup into plain text: markdown inlines and HTML table cells."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from markdown_it import MarkdownIt
from markdown_it.token import Token

MARKDOWN = MarkdownIt("commonmark")


def inline_text(children: list[Token] | None) -> str:
    """Plain text of an inline token's children (emphasis dropped, links as their text)."""
    parts: list[str] = []
    for token in children or []:
        if token.type in ("text", "code_inline", "html_inline"):
            parts.append(token.content)
        elif token.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return re.sub(r"\s+", " ", "".join(parts)).strip()


def plain(markdown_text: str) -> str:
    """Plain text of a one-paragraph markdown fragment."""
    tokens = MARKDOWN.parseInline(markdown_text)
    return inline_text(tokens[0].children if tokens else None) or markdown_text.strip()


def strip_emphasis(text: str) -> str:
    """Remove markdown emphasis markers that a fragment leaves unbalanced."""
    return re.sub(r"\*+", "", text).strip()


class _CellText(HTMLParser):
    """Collects a cell's text with a line break per paragraph and list item."""

    _BREAKS = {"p", "li", "ul", "br", "div"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_cell_text(cell: str) -> str:
    """A table cell's HTML as text: one line per paragraph or bullet, spaces folded."""
    parser = _CellText()
    parser.feed(cell)
    parser.close()
    text = "".join(parser.parts).replace("•", "\n")
    lines = (re.sub(r"\s+", " ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)
