"""TAB-separated tables (dosing, coding, revision log) whose cells may hold HTML."""

from __future__ import annotations

from dataclasses import dataclass

from loaders.context import BOILERPLATE, ParseContext
from loaders.source import Line


@dataclass
class TableRow:
    cells: list[str]
    lines: list[Line]


def read_table(
    ctx: ParseContext, lines: list[Line], width: int, header: list[str] | None = None, continuation: bool = True
) -> tuple[list[str], list[TableRow]]:
    """The header and rows of the first TAB table in ``lines`` (``header`` when it stands elsewhere).

    A repeated header (a page break) is skipped; with ``continuation``, a row whose first cell
    is empty continues the row before it (its cells are appended column by column).
    """
    header = header or []
    rows: list[TableRow] = []
    for line in lines:
        if "\t" not in line.raw:
            continue
        cells = [cell.strip() for cell in line.text.split("\t")]
        cells = (cells + [""] * width)[:width] if len(cells) <= width else _fold(cells, width)
        if not header:
            header = cells
            ctx.claim([line])
        elif [c.lower() for c in cells] == [h.lower() for h in header]:
            ctx.claim([line], BOILERPLATE, "repeated table header")
        elif continuation and not cells[0] and rows:
            last = rows[-1]
            last.cells = [" ".join(filter(None, (a, b))) for a, b in zip(last.cells, cells)]
            last.lines.append(line)
            ctx.claim([line])
        else:
            rows.append(TableRow(cells, [line]))
            ctx.claim([line])
    return header, rows


def _fold(cells: list[str], width: int) -> list[str]:
    """Keep ``width`` columns: surplus TABs belong to the first (free-text) column."""
    surplus = len(cells) - width + 1
    return [" ".join(cells[:surplus]).strip(), *cells[surplus:]]
