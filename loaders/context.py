"""What every section parser shares: the source, its provenance, and who claimed which line."""

from __future__ import annotations

from dataclasses import dataclass, field

from kb.errors import SourceError
from kb.model import CoverageBlock, Provenance, Span
from loaders.source import Line, SourceText

PARSED = "parsed"
BOILERPLATE = "boilerplate"
UNPARSED = "unparsed"
SUSPECT = "suspect"


@dataclass
class ParseContext:
    source: SourceText
    claims: dict[int, tuple[str, str]] = field(default_factory=dict)
    suspects: list[CoverageBlock] = field(default_factory=list)

    def provenance(self, first: int, last: int | None = None) -> Provenance:
        return Provenance(document_sha256=self.source.sha256, span=Span(first, last or first))

    def provenance_of(self, lines: list[Line]) -> Provenance:
        """The provenance of a run of lines (a paragraph, a table row, an item)."""
        return self.provenance(lines[0].number, lines[-1].number)

    def claim(self, lines: list[Line] | tuple[Line, ...], status: str = PARSED, kind: str = "") -> None:
        for line in lines:
            self.claims.setdefault(line.number, (status, kind))

    def doubt(self, lines: list[Line] | tuple[Line, ...], kind: str, reason: str) -> None:
        """Record a passage the parser read but doubts: it is reported, never silently trusted."""
        if lines:
            text = "\n".join(line.raw for line in lines)
            self.suspects.append(CoverageBlock(SUSPECT, kind, Span(lines[0].number, lines[-1].number), text, reason))

    def doubt_span(self, span: Span | None, kind: str, reason: str) -> None:
        """``doubt`` for the lines a record was read from."""
        if span is not None:
            self.doubt(self.source.lines[span.first - 1 : span.last], kind, reason)

    def error(self, line: int | None, expected: str, found: str = "") -> SourceError:
        return SourceError(self.source.path, line, expected, found)

    def coverage(self) -> tuple[CoverageBlock, ...]:
        """Boilerplate and unparsed blocks (every non-blank line not claimed is unparsed), then
        the suspect passages in line order."""
        blocks: list[CoverageBlock] = []
        current: list[Line] = []
        current_tag: tuple[str, str] | None = None

        def flush() -> None:
            if current and current_tag and current_tag[0] != PARSED:
                text = "\n".join(line.raw for line in current)
                span = Span(current[0].number, current[-1].number)
                blocks.append(CoverageBlock(current_tag[0], current_tag[1], span, text))

        for line in self.source.lines:
            if line.blank:
                continue
            tag = self.claims.get(line.number, (UNPARSED, "unrecognised"))
            if tag != current_tag or (current and line.number != current[-1].number + 1 and tag[0] == UNPARSED):
                flush()
                current, current_tag = [], tag
            current.append(line)
        flush()
        return tuple(blocks) + tuple(sorted(self.suspects, key=lambda b: (b.span.first, b.kind)))
