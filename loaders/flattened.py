"""The flattened text form of a Centene policy, turned into the line layout the loader reads.

Some sources hold a whole policy PDF on ONE line: page headers inline ("CLINICAL POLICY
Reslizumab Page 2 of 8"), a space after every period ("CP. PHAR. 310", "08. 24", "e. g. ,"),
tables run into the text and numeric codes stripped (see ../shared/corpus/SOURCES.md).
``unflatten`` repairs the spacing, puts page furniture on lines of its own and cuts the text
at the template's section headings, criteria labels, table rows and list entries, so that one
parser (``loaders.centene``) reads both forms. Nothing is dropped: every character of the
repaired text is in the output, only whitespace changes (a test checks that).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from loaders.headings import CRITERIA_HEADINGS, MARKS
from loaders.outline import Outline

HEADINGS: tuple[tuple[str, str], ...] = (
    ("description", r"Description"),
    ("fda", r"FDA Approved Indications?(?:\(s\))?"),
    ("policy", r"Policy/Criteria"),
    ("I", CRITERIA_HEADINGS["I"]),
    ("II", CRITERIA_HEADINGS["II"]),
    ("III", r"III\. Diagnoses/Indications for which coverage is NOT authorized:?"),
    ("IV", r"IV\. Appendices/General Information"),
    ("V", r"V\. Dosage and Administration"),
    ("VI", r"VI\. Product Availability"),
    ("VII", r"VII\. References"),
    ("coding", r"Coding Implications(?= Codes referenced)"),
    ("log", r"Reviews, Revisions,? and Approvals Date P&T Approval Date"),
    ("reminder", r"Important Reminder(?= This clinical policy)"),
)
"""The template's section headings in the order they stand (each is looked for after the one before)."""

HEADER_FIELDS = r"(?=\b(?:Reference Number|Effective Date|Last Review Date|Line of Business):)"
NAVIGATION = r"(?:Coding[ _]Implications )?Revision Log"
"""The header's links, whatever the link text: "Coding Implications Revision Log", "Revision Log"."""
APPENDIX_TITLES = (
    "Abbreviation/Acronym Key",
    "Therapeutic Alternatives",
    "Contraindications/Boxed Warnings",
    "General Information",
    "Appropriate Experimental Design Methods",
)
LOG_HEADER = "Reviews, Revisions, and Approvals\tDate\tP&T Approval Date"
LOB = r"(?:Commercial|HIM|Medicaid)(?:\s*/\s*(?:Commercial|HIM|Medicaid))*"
UNIT = r"(?:IU|iu|I\.U\.|mg|mcg|mL|ml|units?|dme|specified|vial|kit)"


def is_flattened(text: str) -> bool:
    """One very long line holding the whole policy."""
    lines = [line for line in text.splitlines() if line.strip()]
    return len(lines) <= 3 and max((len(line) for line in lines), default=0) > 2000


_DATE_AHEAD = r"(?=\d{2}\. \d{2}\. \d{2}\b)"


def repair_spacing(text: str) -> str:
    """Undo "a space after every period" where it splits one token (references, dates, decimals,
    abbreviations, URLs), the comma-space inside thousands ("30, 000") and the space a line
    wrap left after a hyphen ("peer- reviewed")."""
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\b([A-Z]{3})\. ([A-Z]{2,5})\. ([A-Z]{2,6})\. ([A-Z0-9]{1,6})\b", r"\1.\2.\3.\4", text)
    # A policy number whose sentence ends right before a log Date: "HIM. PA. 04. 07. 20. 21"
    text = re.sub(rf"\b([A-Z]{{2,5}})\. ([A-Z]{{2,6}})\. (\d{{1,3}}[A-Z]?)\. {_DATE_AHEAD}", r"\1.\2.\3. ", text)
    text = re.sub(r"\b([A-Z]{2,5})\. ([A-Z]{2,6})\. ([A-Z0-9]{1,6})\b(?!\. \d{2}\. \d{2}\b)", r"\1.\2.\3", text)
    text = re.sub(r"(?<!\.)\b(\d{2})\. (\d{2})\. (\d{2})\b", r"\1.\2.\3", text)
    text = re.sub(r"(?<![\d,.])(\d{1,2}|\d{3}(?=, 0)), (\d{3})(?![\d\-–(:])", r"\1,\2", text)
    text = re.sub(r"(?<=[A-Za-z0-9])- (?=[a-z])(?!(?:to|or|and|nor|through)\b)", "-", text)
    text = re.sub(r"(?<=[a-z]):(?=\d)", ": ", text)
    text = re.sub(r"(?<=\d)\. (?=\d+(?![\d.]))", ".", text)
    text = re.sub(r"\b([a-z])\. ([a-z])\.(?= ?,| )", r"\1.\2.", text)
    text = re.sub(r"\. ,", ".,", text)
    text = re.sub(r"\bwww\. (?=[a-z0-9])", "www.", text)
    text = re.sub(r"(?<=[A-Za-z])\. (?=(?:gov|com|org|net|edu)\b)", ".", text)
    url = re.compile(r"((?:https?://|www\.)\S*?)(?:(\.) (?=[a-z0-9/]{2,})|(-) (?=[A-Za-z0-9]))")
    while url.search(text):
        text = url.sub(lambda m: m.group(1) + (m.group(2) or m.group(3)), text)
    return text


def _running_title(text: str) -> str | None:
    """The title the page headers repeat: read before a "Page N of M", else the policy's own title."""
    found = Counter(re.findall(r"CLINICAL POLICY (.{1,120}?) Page \d+ of \d+", text))
    if found:
        return found.most_common(1)[0][0]
    title = re.search(r"Clinical Policy: (.+?) Reference Number:", text)
    candidates = [title.group(1), re.sub(r"\s*\(.*$", "", title.group(1))] if title else []
    return next((c for c in candidates if f"CLINICAL POLICY {c}" in text), None)


def _furniture(text: str) -> re.Pattern[str]:
    """Page headers and footers: "CLINICAL POLICY <running title>" and "Page N of M", either order."""
    title = _running_title(text)
    header = rf"CLINICAL POLICY {re.escape(title)}" if title else r"CLINICAL POLICY"
    return re.compile(rf"(?:{header} )?Page \d+ of \d+(?: {header})?|{header}")


def unflatten(text: str) -> str:
    """The flattened text as lines in the template's layout."""
    text = repair_spacing(text)
    furniture = _furniture(text)
    sections = _split_sections(text, furniture)
    out: list[str] = []
    for name, heading, body in sections:
        if heading:  # a heading a page break split keeps the page furniture on a line of its own
            out += ["", LOG_HEADER] if name == "log" else _interleave(heading, furniture, lambda part: ["", part])
            out += [""]
        out += FORMATTERS.get(name, _paragraph)(body, furniture)
    return "\n".join(_tidy(out)) + "\n"


def _tidy(lines: list[str]) -> list[str]:
    """No leading, trailing or doubled blank lines."""
    tidy: list[str] = []
    for line in lines:
        line = line.rstrip()
        if line or (tidy and tidy[-1]):
            tidy.append(line)
    while tidy and not tidy[-1]:
        tidy.pop()
    return tidy


def _split_sections(text: str, furniture: re.Pattern[str]) -> list[tuple[str, str | None, str]]:
    """(name, heading, body) in order; what precedes the first heading is the header. A heading
    may carry a footnote mark, and page furniture may stand between its words (not the log's)."""
    found: list[tuple[str, int, int]] = []
    start = 0
    gap = rf"\s+(?:(?:{furniture.pattern})\s+)?"
    for name, pattern in HEADINGS:
        words = pattern if name == "log" else re.sub(r" |\\s\+", lambda _: gap, pattern)
        match = re.compile(rf"(?:(?<=\s)|^){words}(?:{MARKS})?(?=\s|$)").search(text, start)
        if match:
            found.append((name, match.start(), match.end()))
            start = match.end()
    sections = [("header", None, text[: found[0][1]] if found else text)]
    for index, (name, begin, end) in enumerate(found):
        stop = found[index + 1][1] if index + 1 < len(found) else len(text)
        sections.append((name, text[begin:end], text[end:stop].strip()))
    return sections


def _pieces(body: str, furniture: re.Pattern[str]) -> list[tuple[bool, str]]:
    """The body cut at page furniture: (is_furniture, text)."""
    pieces: list[tuple[bool, str]] = []
    last = 0
    for match in furniture.finditer(body):
        pieces.append((False, body[last : match.start()].strip()))
        pieces.append((True, match.group(0)))
        last = match.end()
    pieces.append((False, body[last:].strip()))
    return [(flag, piece) for flag, piece in pieces if piece]


def _interleave(body: str, furniture: re.Pattern[str], format_text: Callable[[str], list[str]]) -> list[str]:
    """``format_text`` on each piece between page furniture; the furniture on lines of its own."""
    out: list[str] = []
    for is_furniture, piece in _pieces(body, furniture):
        out += ["", piece, ""] if is_furniture else format_text(piece)
    return out


def _with_furniture(format_text: Callable[[str], list[str]]) -> Callable[[str, re.Pattern[str]], list[str]]:
    """A section formatter made of a formatter of the text between page furniture."""
    return lambda body, furniture: _interleave(body, furniture, format_text)


def _header(body: str, furniture: re.Pattern[str]) -> list[str]:
    out: list[str] = []
    for is_furniture, piece in _pieces(body, furniture):
        if is_furniture:
            out += [piece, ""]
            continue
        piece = re.sub(rf"\s({NAVIGATION})(?= See Important[ _]Reminder|$)", "\n\\1\n", piece)
        piece = re.sub(r"\s(See Important[ _]Reminder)", "\n\\1", piece)
        piece = re.sub(rf"\s*{HEADER_FIELDS}", "\n", piece)
        out += [line.strip() for line in piece.split("\n")] + [""]
    return out


def _bullets(text: str) -> list[str]:
    """A paragraph whose "•" and "o" bullets become lines of their own."""
    parts = re.split(r"\s*•\s*", text)
    out = [parts[0]] if parts[0] else []
    out += [f"- {part}" for part in parts[1:] if part]
    return out


@_with_furniture
def _paragraph(text: str) -> list[str]:
    return [*_bullets(text), ""]


_INDICATED = re.compile(r"(?<=[.;:])\s+((?:[A-Z][\w®™-]*\s+(?:(?:and|or)\s+)?){1,4}(?:is|are) indicated\b)")
"""A sentence naming another product's indications ("... therapy. Alvaiz is indicated for"): the
flattened text runs it on after the last bullet of the product before."""


@_with_furniture
def _fda(text: str) -> list[str]:
    text = re.sub(r"\s+(Limitations? ?\(?s?\)? of use:)", r"\n\n\1", text)
    text = _INDICATED.sub(r"\n\n\1", text)
    return [line for part in text.split("\n") for line in (_bullets(part) if part else [""])] + [""]


@dataclass
class _Labels:
    """Reads criteria labels across the pieces of one list (a page break does not restart it)."""

    number: int = 0
    outline: Outline = field(default_factory=Outline)
    after_note: bool = False
    """The piece before ended on a footnote (a page break may have cut its sentence)."""

    def find(self, text: str) -> list[tuple[int, int, str]]:
        """Labels that can stand where they stand: (start, depth, label text)."""
        found: list[tuple[int, int, str]] = []
        for match in _LABEL.finditer(text):
            label, delimiter = match.group(1), match.group(2)
            if label.isdigit() and delimiter == ".":
                if int(label) == self.number + 1:
                    self.number += 1
                    self.outline.reset()
                    found.append((match.start(), 0, f"{label}."))
                continue
            if not self.number:
                continue
            trial = Outline(list(self.outline.levels))
            depth = trial.depth(label, delimiter)
            if depth is not None:
                self.outline = trial
                found.append((match.start(), depth, f"{label}{delimiter}"))
        return found


_LABEL = re.compile(r"(?:(?<=[,:;.)*] )|(?<=\bor )|(?<=\band )|(?<=^))(\d{1,2}|[a-z]{1,5})([.)]) (?=\S)")
_FOOTNOTE = re.compile(r"(?:(?<=\s)|^)((?:\*{1,2}|†|‡)\s?[A-Z][^*†‡]*?)(?=\s+(?:\d{1,2}|[a-z]{1,5})[.)] |\s+[*†‡]|$)")


def _items(text: str, labels: _Labels) -> list[str]:
    """A criteria list: one line per item ("1. ...", " - a. ..."), footnotes on their own lines."""
    lines: list[str] = []
    cut_note = (
        re.match(r"^(?!(?:\d{1,2}|[a-z]{1,5})[.)] )[a-z][^*†‡]*?(?=\s+(?:\d{1,2}|[a-z]{1,5})[.)] |\s+[*†‡]|$)", text)
        if labels.after_note
        else None
    )
    if cut_note:  # the rest of a footnote's sentence after a page break, on its own line
        lines.append(cut_note.group(0))
        text = text[cut_note.end() :]
    for part in _FOOTNOTE.sub(r"\n\1\n", text).split("\n"):
        part = part.strip()
        if not part:
            continue
        if part.startswith("*"):
            lines.append(part)
            continue
        found = labels.find(part)
        if not found or found[0][0] > 0:
            lines.append(part[: found[0][0]].strip() if found else part)
        for index, (start, depth, _) in enumerate(found):
            stop = found[index + 1][0] if index + 1 < len(found) else len(part)
            item = part[start:stop].strip()
            lines.append(item if depth == 0 else f"{'  ' * (depth - 1)} - {item}")
    labels.after_note = bool(lines) and lines[-1].startswith(("*", "†", "‡"))
    return lines


def _durations(text: str) -> list[str]:
    """ "Approval duration: Medicaid/HIM – 12 months Commercial – 6 months ..." -> one line per line of business."""
    text = re.sub(rf"\s+(?={LOB}\s*[–—-]\s)", "\n", text)
    return [line.strip() for line in text.split("\n") if line.strip()]


def _criteria(body: str, furniture: re.Pattern[str]) -> list[str]:
    """Section I or II: indication headings, items, footnotes and approval durations."""
    out: list[str] = []
    starts = _indications(body, furniture)
    for index, (start, heading_end) in enumerate(starts):
        stop = starts[index + 1][0] if index + 1 < len(starts) else len(body)
        heading_text = body[start:heading_end]
        breaks = [match.group(0) for match in furniture.finditer(heading_text)]  # a page break in the heading
        heading_text = re.sub(r"\s+", " ", furniture.sub(" ", heading_text))
        heading, *notes = _FOOTNOTE.sub(r"\n\1", heading_text.strip()).split("\n")
        out += ["", heading.strip(), *(note.strip() for note in notes), ""]
        out += [line for found in breaks for line in (found, "")]
        chunk = body[heading_end:stop]
        duration = re.search(r"Approval duration:?", chunk, re.IGNORECASE)
        items, tail = (chunk[: duration.start()], chunk[duration.start() :]) if duration else (chunk, "")
        labels = _Labels()
        out += _interleave(items, furniture, lambda piece: _items(piece, labels))  # noqa: B023 (used at once)
        out += _interleave(tail, furniture, lambda piece: ["", *_durations(piece)])
    if starts and starts[0][0] > 0:
        out = [body[: starts[0][0]].strip(), *out]
    return out


def _indications(body: str, furniture: re.Pattern[str] | None = None) -> list[tuple[int, int]]:
    """(start, end of heading) of each indication: "A. Title ... " up to its first "1. ". A page
    break between the heading and its first item does not count against the heading's length."""
    found: list[tuple[int, int]] = []
    position = 0
    for letter in "ABCDEFGHIJ":
        match = re.compile(rf"(?:(?<=\s)|^){letter}\. (?=[A-Z])(.{{3,220}}?)\s(?=1\. )").search(body, position)
        if not match and furniture is not None:
            longer = re.compile(rf"(?:(?<=\s)|^){letter}\. (?=[A-Z])(.{{3,420}}?)\s(?=1\. )").search(body, position)
            if longer and len(furniture.sub("", longer.group(0))) <= 230:
                match = longer
        if not match:
            break
        found.append((match.start(), match.end()))
        position = match.end()
    return found


@_with_furniture
def _lettered(text: str) -> list[str]:
    """Section III: "A. ..., B. ..." one paragraph each."""
    parts = re.split(r"(?:(?<=[,.;] )|^)(?=[B-H]\. [A-Z])", text)
    return [line for part in parts for line in (part.strip(), "")]


_APPENDIX = re.compile(
    rf"(Appendix [A-Z]: (?:{'|'.join(map(re.escape, APPENDIX_TITLES))}|[A-Z][\w/-]*(?: [A-Z][\w/-]*){{0,4}}))\s"
)


@_with_furniture
def _appendices(text: str) -> list[str]:
    """Each appendix heading on its line; abbreviation entries and bullets one paragraph each."""
    out: list[str] = []
    for part in _APPENDIX.sub(r"\n\1\n", text).split("\n"):
        if part.startswith("Appendix ") or not part.strip():
            out += ["", part.strip(), ""]
        elif re.match(r"^[A-Z][A-Za-z0-9/-]{1,12}: ", part) and "•" not in part:
            entries = re.split(r"\s(?=[A-Z][A-Za-z0-9/-]{1,12}: )", part)
            out += [line for entry in entries for line in (entry.strip(), "")]
        else:
            out += [*_bullets(part.strip()), ""]
    return out


def _dosing(body: str, furniture: re.Pattern[str]) -> list[str]:
    """The dosing table: its cells run together in this form, so each page's part is one row,
    kept whole in the regimen column."""
    columns = re.match(r"^((?:Drug Name )?Indication Dosing Regimen Maximum Dose)\s*", body)
    header = columns.group(1).replace("Drug Name Indication", "Drug Name\tIndication") if columns else ""
    header = header.replace(" Dosing Regimen", "\tDosing Regimen").replace(" Maximum Dose", "\tMaximum Dose")

    def rows(piece: str) -> list[str]:
        if columns and piece.startswith(columns.group(1)):  # the header again after a page break
            return [header, f"\t{piece[len(columns.group(1)) :].strip()}\t"]
        return [f"\t{piece}\t" if header else piece]

    rest = body[columns.end() :] if columns else body
    return [header] * bool(header) + _interleave(rest, furniture, rows) + [""]


def _references(body: str, furniture: re.Pattern[str]) -> list[str]:
    """The references, one paragraph each: "N. " starts one only where N is the next number;
    a bullet ("•") starts one in a list that is not numbered."""
    expected = 1

    def paragraphs(piece: str) -> list[str]:
        nonlocal expected
        cuts = [0]
        for match in re.finditer(r"(?:(?<=\s)|^)(?:(\d{1,2})\. (?=[^\d\s])|•\s*(?=\S))", piece):
            if match.group(1) is None or int(match.group(1)) == expected:
                cuts.append(match.start())
                expected += match.group(1) is not None
        cuts.append(len(piece))
        return [line for a, b in zip(cuts, cuts[1:]) if piece[a:b].strip() for line in (piece[a:b].strip(), "")]

    return _interleave(body, furniture, paragraphs)


def _coding(body: str, furniture: re.Pattern[str]) -> list[str]:
    """The disclaimer, then each table: "<system> Codes<TAB>Description", one row per description.
    A table goes on after a page break; text after the break that starts in lower case ends the
    row the break cut ("Prescription drug, oral, non chemotherapeutic, | nos")."""
    out: list[str] = []
    last_row: int | None = None
    in_table = False
    for is_furniture, piece in _pieces(body, furniture):
        if is_furniture:
            out += ["", piece, ""]
            continue
        parts = re.split(r"\s*\b((?:HCPCS|CPT|ICD-10-CM|ICD-10-PCS|HCPSC) Codes?) Description\s*", piece)
        lead = parts[0].strip()
        if lead and in_table:
            rest = re.match(r"^([a-z][^A-Z]*?)(?:\s+(?=[A-Z])|$)", lead)
            if rest and last_row is not None:
                out[last_row] += " " + rest.group(1)
                lead = lead[rest.end() :].strip()
            descriptions = _descriptions(lead) if lead else []
            out += [f"\t{d}" for d in descriptions] + [""]
            last_row = len(out) - 2 if descriptions else last_row
        elif lead:
            out += [lead, ""]
        for system, rows in zip(parts[1::2], parts[2::2]):
            descriptions = _descriptions(rows)
            out += [f"{system}\tDescription", *(f"\t{d}" for d in descriptions), ""]
            last_row, in_table = (len(out) - 2 if descriptions else None), True
    return out


def _descriptions(rows: str) -> list[str]:
    """Code descriptions run together: a new one starts at a capitalised word ("Injection,",
    "Unclassified", "Prescription", "Noc") that follows a lower-case word or a unit ("IU"),
    outside brackets; an acronym such as "DME" never starts one."""
    cuts = [0]
    depth = 0
    for match in re.finditer(r"[()]|(?<=\S) (?=[A-Z][a-z]+\b)", rows):
        if match.group(0) in "()":
            depth += 1 if match.group(0) == "(" else -1
            continue
        previous = rows[: match.start()].rsplit(" ", 1)[-1]
        if depth <= 0 and re.fullmatch(rf"[a-z0-9µ].*|{UNIT}", previous) and not previous.endswith(","):
            cuts.append(match.start())
    cuts.append(len(rows))
    return [rows[a:b].strip() for a, b in zip(cuts, cuts[1:]) if rows[a:b].strip()]


_LOG_ROW = re.compile(r"(.+?)\s(\d{2}\.\d{2}\.\d{2})(?:\s(\d{2}\.\d{2}))?(?=\s|$)")


def _log(body: str, furniture: re.Pattern[str]) -> list[str]:
    """The revision log: one TAB row per revision (description, Date, P&T). A page break inside a
    row leaves its end after the break without dates: it continues the row before. Text that
    ends the log without its dates is a row cut off (the document ends mid-row): it is kept as
    a row whose Date cell is empty, for the loader to refuse."""
    heading = re.compile(HEADINGS[[n for n, _ in HEADINGS].index("log")][1])
    rows: list[list[str]] = []
    out: list[str] = []
    tail = pending = ""
    for is_furniture, piece in _pieces(body, furniture):
        if is_furniture:
            out.append(piece)
            continue
        if heading.match(piece):
            out.append(LOG_HEADER)
            piece = heading.sub("", piece, count=1).strip()
        last = 0
        for match in _LOG_ROW.finditer(piece):
            description = match.group(1).strip()
            continued = re.match(r"^([a-z].*?\.)\s+(?=[A-Z0-9])", description)
            if continued and rows:  # a row's end the flattening put after its dates
                rows[-1][0] += " " + continued.group(1)
                description = description[continued.end() :]
            if pending:  # the first row began before a page break
                description, pending = f"{pending} {description}", ""
            rows.append([description, match.group(2), match.group(3) or ""])
            last = match.end()
        tail = piece[last:].strip()
        if tail and not rows:
            pending, tail = f"{pending} {tail}".strip(), ""
        elif tail:
            rows[-1][0] += " " + tail
            tail = tail if last else ""  # a whole piece without dates continues the row before
    if tail and rows:
        rows[-1][0] = rows[-1][0][: -len(tail)].rstrip()
    if tail or pending:
        rows.append([f"{pending} {tail}".strip(), "", ""])
    return ["\t".join(row) for row in rows] + [line for line in out for line in ("", line, "")]


FORMATTERS: dict[str, Callable[[str, re.Pattern[str]], list[str]]] = {
    "header": _header,
    "fda": _fda,
    "I": _criteria,
    "II": _criteria,
    "III": _lettered,
    "IV": _appendices,
    "V": _dosing,
    "VII": _references,
    "coding": _coding,
    "log": _log,
}
