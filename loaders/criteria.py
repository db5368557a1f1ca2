"""Sections I and II: criteria trees, footnotes and approval durations per indication.

The item lists are markdown once their indentation is normalised; markdown-it builds the
tree and its line maps carry each item back to its source lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from markdown_it.token import Token

from kb.model import Criterion, Record, Statement
from loaders.context import ParseContext
from loaders.durations import parse_duration_line
from loaders.headings import unusual_wording
from loaders.logic import LogicReading, footnote_markers, logic_of, split_note
from loaders.markup import MARKDOWN, inline_text, plain, strip_emphasis
from loaders.outline import Outline
from loaders.sections import Section, raw
from loaders.source import Line

_INDICATION = re.compile(r"^\**\s*([A-Z])\.\s+(.+?)\s*\**$")
_NUMBERED = re.compile(r"^(\d+)\.\s+(.*)$")
_SUB = re.compile(r"^[-•]?\s*([a-z]{1,4}|\d{1,2}(?=\)))([.)])\s+(.*)$")
_FOOTNOTE = re.compile(r"^(?:\*+|†|‡)\s*\S")
_HINT_NAMES_ITEMS = re.compile(
    r"\((?:[a-z]|[ivx]{1,4}|\d)(?:,? (?:or|and) |, | ?[–-] ?)(?:[a-z]|[ivx]{1,4}|\d)\)\s*:?\s*\**$"
)
"""A label hint such as "(a or b):" ending an item: it announces sub-items."""
_LABEL_AHEAD = re.compile(r"[.)] [A-Z]")
_STRAY_LABEL = re.compile(r"(?:[,;:]|\bor|\band) (\d{1,2}|[a-z]|[ivx]{1,4})([.)]) (?=[A-Z])")
"""A label inside an item's text ("..., 4. Member is ..."): a list that skipped a number."""
_NOTE_INSIDE = re.compile(r"[*†‡]\s?[A-Z][a-z]")
_DURATION_INSIDE = re.compile(r"approval duration", re.I)
LONG_ITEM = 600
"""Characters; the longest item of the corpus has about 400."""
_DURATION = re.compile(r"^\**approval duration\**\s*:?\**\s*(.*)$", re.IGNORECASE)


@dataclass
class _Item:
    depth: int
    label: str
    text: str
    lines: list[Line] = field(default_factory=list)
    delimiter: str = "."


def split_indications(lines: list[Line]) -> list[tuple[Line, str, str, list[Line]]]:
    """(heading line, letter, title, body lines) per indication of a section."""
    blocks: list[tuple[Line, str, str, list[Line]]] = []
    for line in lines:
        match = _INDICATION.match(line.text.strip())
        if match and not line.text.startswith(("-", " ")) and len(match.group(2)) < 200:
            blocks.append((line, match.group(1), match.group(2), []))
        elif blocks:
            blocks[-1][3].append(line)
    return blocks


def _collect_items(ctx: ParseContext, body: list[Line]) -> tuple[list[_Item], list[Line]]:
    """List items (with continuation paragraphs folded in), and the footnotes and lines after the list.

    A footnote may stand inside the list (the flattened text form puts one wherever its page
    ended): it goes with the lines after the list, and the items go on.
    """
    items: list[_Item] = []
    notes: list[Line] = []
    outline = Outline()
    after_note = False
    numbered_count = 0
    for index, line in enumerate(body):
        text = line.text.strip()
        if not text:
            continue
        if _DURATION.match(text):
            return items, notes + body[index:]
        if _FOOTNOTE.match(text):
            notes.append(line)
            after_note = True
            continue
        numbered, sub = _NUMBERED.match(text), _SUB.match(text)
        if after_note and text[:1].islower() and not numbered and not sub:
            # a note's sentence that a page break cut: "*Prior authorization | may be required"
            note = notes[-1]
            notes[-1] = Line(note.number, note.raw, f"{note.text.rstrip()} {text}")
            ctx.claim([line])
            continue
        after_note = False
        depth = outline.depth(sub.group(1), sub.group(2)) if sub and items else None
        if numbered:
            outline.reset()
            numbered_count += 1
            expected = numbered_count
            if int(numbered.group(1)) != expected:
                ctx.doubt([line], "label", f"item {numbered.group(1)}. where {expected}. was expected")
            items.append(_Item(0, numbered.group(1), numbered.group(2), [line]))
        elif depth is not None:
            items.append(_Item(depth, sub.group(1), sub.group(3), [line], sub.group(2)))  # type: ignore[union-attr]
        elif items:  # a paragraph split off its item, e.g. by a page break
            if sub:
                ctx.doubt(
                    [line],
                    "label",
                    f"label {sub.group(1)}{sub.group(2)} out of sequence: read as text of the item before",
                )
            items[-1].text += " " + text
            items[-1].lines.append(line)
        # else: text before the first item (a note the template does not print there) is left
        # unclaimed: the load reports it as unparsed, and the items after it are read
    return items, notes


def _markdown(items: list[_Item], literal: bool = False) -> str:
    """Normalised markdown: each nesting level indented under its parent's content column.
    ``literal`` text (the flattened form, which holds no markup) has its asterisks escaped: they
    are footnote markers ("Humira®*, infliximab*"), never emphasis."""
    rendered: list[str] = []
    columns = [0]
    for item in items:
        columns = columns[: item.depth + 1]
        indent = columns[-1]
        escaped = "\\" + item.delimiter if item.label.isdigit() else item.delimiter  # "1)" is no list marker here
        marker = f"{item.label}. " if item.depth == 0 else f"- {item.label}{escaped} "
        text = _literal(item.text) if literal else item.text
        rendered.append(" " * indent + marker + text)
        columns.append(indent + (len(marker) if item.depth == 0 else 2))
    return "\n".join(rendered) + "\n"


def _literal(text: str) -> str:
    """Text that markdown reads back as it stands: its markup characters escaped."""
    return re.sub(r"([\\*_`\[\]<>])", r"\\\1", text)


def _tree(tokens: list[Token]) -> list[tuple[int, str]]:
    """(depth, inline text) of each list item, in document order."""
    found: list[tuple[int, str]] = []
    depth = -1
    opened = False
    for token in tokens:
        if token.type == "list_item_open":
            depth += 1
            opened = True
        elif token.type == "list_item_close":
            depth -= 1
        elif token.type == "inline" and opened:
            found.append((depth, inline_text(token.children)))
            opened = False
    return found


def parse_criteria(
    ctx: ParseContext, section: str, letter: str, heading: Line, title: str, body: list[Line]
) -> tuple[list[Record], list[Line]]:
    """The criteria set of one indication, and the lines after its list (footnotes, durations)."""
    set_id = f"{section}.{letter}"
    literal = ctx.source.form == "flattened"
    marker, title = footnote_markers(plain(_literal(title) if literal else title))
    ctx.claim([heading])
    items, rest = _collect_items(ctx, body)
    parsed = _tree(MARKDOWN.parse(_markdown(items, literal)))
    if len(parsed) != len(items):
        raise ctx.error(items[0].lines[0].number if items else heading.number, "a well-formed criteria list")
    nodes: list[tuple[str, str | None, str, str, str | None, list[Line], str]] = [
        (set_id, None, f"{letter}.", strip_emphasis(title), marker, [heading], heading.raw)
    ]
    path: list[str] = []
    for (depth, text), item in zip(parsed, items):
        path = path[:depth] + [item.label]
        body_text = re.sub(rf"^{re.escape(item.label + item.delimiter)}\s+", "", text)
        item_marker, body_text = footnote_markers(body_text)
        item_id = ".".join([set_id, *path])
        parent = ".".join([set_id, *path[:-1]])
        nodes.append(
            (item_id, parent, f"{item.label}{item.delimiter}", body_text, item_marker, item.lines, raw(item.lines))
        )
        ctx.claim(item.lines)
    parents = {parent for _, parent, *_ in nodes}
    for _, _, _, text, _, lines, _ in nodes:
        _check_item_text(ctx, text, lines)
    positions: dict[str | None, int] = {}
    records: list[Record] = []
    for item_id, parent, label, text, item_marker, lines, raw_text in nodes:
        positions[parent] = positions.get(parent, 0) + 1
        reading = _settled_logic(ctx, text, item_id in parents, lines)
        records.append(
            Criterion(
                item_id,
                parent,
                ord(letter) - ord("A") + 1 if parent is None else positions[parent],
                section,
                letter,
                label,
                text,
                reading.logic,
                reading.text,
                item_marker,
                raw_text=raw_text,
                provenance=ctx.provenance_of(lines),
                logic_count=reading.count,
            )
        )
    return records, rest


def _check_item_text(ctx: ParseContext, text: str, lines: list[Line]) -> None:
    """Doubt an item whose text holds what belongs elsewhere: a label, a note, a duration."""
    if _LABEL_AHEAD.search(text) and (stray := _STRAY_LABEL.search(text)):
        ctx.doubt(
            lines, "label", f"{stray.group(1)}{stray.group(2)} inside the text looks like a label out of sequence"
        )
    if _NOTE_INSIDE.search(text):
        ctx.doubt(lines, "footnote", "a footnote's text may have run into the item")
    if _DURATION_INSIDE.search(text):
        ctx.doubt(lines, "duration", "an approval duration may have run into the item")
    if len(text) > LONG_ITEM:
        ctx.doubt(lines, "label", f"an item of {len(text)} characters: sub-items or notes may have run into it")


def _settled_logic(ctx: ParseContext, text: str, has_children: bool, lines: list[Line]) -> LogicReading:
    """An item's logic once its sub-items are known: a leaf has none (its words stay in its
    text); a doubt is recorded where words and structure disagree."""
    reading = logic_of(text)
    if reading.doubt:
        ctx.doubt(lines, "logic", reading.doubt)
    if not has_children:
        if text.rstrip(" :*").endswith(")") and _HINT_NAMES_ITEMS.search(text):
            ctx.doubt(lines, "logic", "a logic hint names sub-items, but none were read under this item")
        return LogicReading()
    if reading.logic is None:
        ctx.doubt(lines, "logic", "sub-items with no logic word: how they combine is not stated")
    return reading


def section_notes(ctx: ParseContext, section: Section, mark: str | None, preface: list[Line]) -> list[Record]:
    """The notes a criteria section prints before its first indication ("*For members in Nevada,
    ..." under "I. Initial Approval Criteria*"), as footnotes of the section; a heading mark
    with no such note, and a heading in unusual words, are doubted."""
    heading = [section.heading] if section.heading else []
    if heading and unusual_wording(section.name, heading[0].text):
        ctx.doubt(heading, "heading", f"a section {section.name} heading in words the template does not use")
    notes: list[Record] = []
    for line in preface:
        if _FOOTNOTE.match(line.text.strip()):
            notes.append(_footnote(ctx, line, section.name))
    if mark and not any(isinstance(n, Statement) and n.term == f"{section.name}{mark}" for n in notes):
        ctx.doubt(heading, "footnote", f"the heading's mark {mark} has no note before the first indication")
    return notes


def parse_tail(
    ctx: ParseContext, section: str, letter: str, lines: list[Line], lines_of_business: tuple[str, ...]
) -> list[Record]:
    """Footnotes and approval durations that follow an indication's list."""
    records: list[Record] = []
    in_durations = False
    for line in lines:
        text = line.text.strip()
        if not text:
            continue
        duration = _DURATION.match(text)
        if duration:
            in_durations = True
            ctx.claim([line])
            if duration.group(1):
                records += parse_duration_line(ctx, line, duration.group(1), section, letter, lines_of_business)
        elif in_durations:
            records += parse_duration_line(ctx, line, text, section, letter, lines_of_business)
            ctx.claim([line])
        elif _FOOTNOTE.match(text):
            records.append(_footnote(ctx, line, f"{section}.{letter}"))
    return records


def _footnote(ctx: ParseContext, line: Line, place: str) -> Statement:
    """A footnote line as the note of its marker at ``place`` (a section, or an indication)."""
    marker, note = split_note(line.text.strip())
    ctx.claim([line])
    return Statement(
        "footnote", 0, note, term=f"{place}{marker}", raw_text=line.raw, provenance=ctx.provenance(line.number)
    )


def bind_footnotes(records: list[Record]) -> list[Record]:
    """Give each marked criterion the text of its indication's footnote with that marker: the
    first such note printed after the item (one indication may print two "*" notes, each after
    the items it concerns), else the last one before it."""
    notes: dict[str, list[tuple[int, str]]] = {}
    for r in records:
        if isinstance(r, Statement) and r.kind == "footnote" and r.term and r.text:
            notes.setdefault(r.term, []).append((_line(r), r.text))
    bound: list[Record] = []
    for record in records:
        if isinstance(record, Criterion) and record.footnote_marker:
            place = f"{record.section}.{record.indication}"
            texts = [
                _nearest(notes[place + marker], _line(record))
                for marker in record.footnote_marker.split()
                if place + marker in notes
            ]
            record = replace(record, footnote_text=" ".join(texts) or None)
        bound.append(record)
    return bound


def _line(record: Record) -> int:
    span = record.provenance.span
    return span.last if span else 0


def _nearest(notes: list[tuple[int, str]], line: int) -> str:
    after = [text for at, text in notes if at >= line]
    return after[0] if after else notes[-1][1]
