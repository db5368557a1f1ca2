"""The site's canned queries, built here and kept in ``datasette_metadata.json``.

Every "in force on a date" query wraps ``kb.store.asof.canned_in_force`` (the one in-force
condition) with what a web form needs: a version label is accepted wherever a date is, and
a malformed or impossible date or knowledge time matches nothing (the page says what is wrong:
see ``kb.surfaces.site.checks``). ``write_metadata()`` puts the queries into the metadata file
(``python -c "from kb.surfaces.site.queries import write_metadata; write_metadata()"``); a test keeps the two equal.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kb.predicates.coverage import COVERAGE_SQL, REVIEW_SQL
from kb.store.asof import canned_in_force

METADATA = Path(__file__).resolve().parents[3] / "datasette_metadata.json"
SECTION_NAMES = {
    "I": "I. Initial Approval Criteria",
    "II": "II. Continued Therapy",
    "III": "III. Diagnoses/Indications for which coverage is NOT authorized",
}
"""The template's section headings (every corpus document prints these)."""


def day(name: str) -> str:
    """``:name`` as a date: a version label of ``:policy`` stands for its first day in force."""
    return (
        f"coalesce((SELECT valid_from FROM version WHERE policy_id = :policy AND label = :{name}"
        f" AND superseded_at IS NULL), :{name})"
    )


def valid_day(expression: str) -> str:
    """True for a real calendar date as YYYY-MM-DD (SQLite's ``date()`` alone lets 2024-02-30 through)."""
    return f"date({expression}, '+0 days') IS {expression}"


VALID_KNOWN_AT = (
    f"(nullif(:known_at, '') IS NULL OR (datetime(:known_at) IS NOT NULL AND {valid_day('substr(:known_at, 1, 10)')}))"
)


ASKED = f"asked AS (SELECT {day('as_of')} AS day)"
"""The common table every in-force query starts with: ``:as_of`` resolved to a date."""
AS_OF = "(SELECT day FROM asked)"


def in_force(table: str) -> str:
    """Rows of ``table`` in force on ``:as_of`` (date or label) as known at ``:known_at``, or none if either is invalid."""
    return f"{canned_in_force(table).replace(':as_of', AS_OF)} AND {valid_day(AS_OF)} AND {VALID_KNOWN_AT}"


def _sections(column: str) -> str:
    cases = " ".join(f"WHEN '{key}' THEN '{name}'" for key, name in SECTION_NAMES.items())
    return f"CASE {column} {cases} ELSE {column} END"


def criteria_sql() -> str:
    return f"""WITH RECURSIVE {ASKED},
in_force AS ({in_force("criterion")}),
tree(item_id, root_id, depth, sort_key) AS (
  SELECT item_id, item_id, 0, section || '.' || printf('%03d', position) FROM in_force WHERE parent_id IS NULL
  UNION ALL
  SELECT c.item_id, t.root_id, t.depth + 1, t.sort_key || '.' || printf('%03d', c.position)
  FROM in_force c JOIN tree t ON c.parent_id = t.item_id
)
SELECT (SELECT label FROM ({in_force("version")})) AS version,
  {_sections("c.section")} AS section,
  r.label || ' ' || CASE WHEN instr(r.text, ' (') > 0 THEN substr(r.text, 1, instr(r.text, ' (') - 1)
    ELSE rtrim(coalesce(r.text, '[unknown]'), ':') END AS indication,
  t.depth,
  c.label || ' ' || coalesce(c.text, '[unknown]') || coalesce(c.footnote_marker, '')
    || coalesce(char(10) || c.footnote_marker || ' ' || c.footnote_text, '') AS criterion,
  c.source || coalesce(' ' || c.revision, '') || coalesce(' (' || c.confidence || ' confidence)', '') AS source,
  CASE WHEN c.first_line IS NOT NULL THEN 'line ' || c.first_line
    || CASE WHEN c.last_line > c.first_line THEN '-' || c.last_line ELSE '' END END AS lines,
  c.item_id
FROM tree t JOIN in_force c USING (item_id) JOIN in_force r ON r.item_id = t.root_id
ORDER BY t.sort_key"""


def durations_sql() -> str:
    return f"""WITH {ASKED}
SELECT {_sections("section")} AS section, indication, line_of_business, condition, coalesce(text, '[unknown]') AS duration,
  months, weeks, days, rule, cycle_cap, reauthorization_permitted, source, revision, confidence, first_line, valid_from,
  valid_to
FROM ({in_force("duration")}) ORDER BY section, indication, line_of_business"""


def codes_sql() -> str:
    return f"""WITH {ASKED}
SELECT system, coalesce(code, '[not in source]') AS code, description, source, first_line, valid_from, valid_to
FROM ({in_force("code")}) ORDER BY ordinal"""


def cross_references_sql() -> str:
    return f"""WITH {ASKED}
SELECT item_id, line_of_business, role, coalesce(policy_ref, '[unknown]') AS policy, source, revision,
  confidence, first_line, valid_from, valid_to
FROM ({in_force("cross_reference")}) ORDER BY item_id, role, line_of_business"""


CHANGE_RECORDS = {
    "criterion": ("item_id", "label", "text"),
    "duration": ("record_key", "section || '.' || indication || ' ' || line_of_business", "text"),
    "cross_reference": ("record_key", "line_of_business || ' ' || role", "policy_ref"),
    "code": ("record_key", "system || coalesce(' ' || code, '')", "description"),
    "reference": ("record_key", "ordinal || '.'", "citation"),
    "statement": ("record_key", "kind", "text"),
    "dosing": ("record_key", "indication", "regimen"),
}
"""For each record table of the changes query: the anchor unknown scopes reach, the label, the text."""


def _unknown_reason(row: str, when: str) -> str:
    """The reason of an unknown of the row's kind reaching its anchor (``kb.model.in_scope``) on ``when``."""
    return (
        f"(SELECT u.reason FROM unknowns u WHERE u.kind = {row}.kind AND u.valid_from <= {when}"
        f" AND (u.valid_to IS NULL OR u.valid_to > {when}) AND (u.scope = '*' OR {row}.anchor = u.scope"
        f" OR substr({row}.anchor, 1, length(u.scope) + 1) = u.scope || '.') LIMIT 1)"
    )


PROVENANCE = "source || coalesce(' ' || revision, '') || coalesce(' (' || confidence || ' confidence)', '')"
"""What a row rests on, in one line: "log 2024-07-11 (medium confidence)", "document"."""
SPAN = "BETWEEN date(asked.lo, '+1 day') AND asked.hi"
CONTIGUOUS = "l.prev_to IS l.valid_from"


def _boundaries() -> str:
    """CTEs: every record row with its neighbours (same record, touching windows), then the rows
    starting and ending in the span; a row that only changed provenance starts nothing."""
    records = "\n  UNION ALL ".join(
        f"SELECT '{table}' AS kind, record_key, {anchor} AS anchor, {label} AS label,"
        f" coalesce({text}, '[unknown]') AS text, valid_from, valid_to, {PROVENANCE} AS source,"
        f" source = 'unknown' AS unknown FROM {table} WHERE policy_id = :policy AND superseded_at IS NULL"
        for table, (anchor, label, text) in CHANGE_RECORDS.items()
    )
    return f"""records AS (
  {records}
),
linked AS (
  SELECT *, lag(valid_to) OVER w AS prev_to, lag(text) OVER w AS prev_text, lag(label) OVER w AS prev_label,
    lag(unknown) OVER w AS prev_unknown, lead(valid_from) OVER w AS next_from
  FROM records WINDOW w AS (PARTITION BY kind, record_key ORDER BY valid_from)
),
unknowns AS (
  SELECT kind, scope, reason, valid_from, valid_to, {PROVENANCE} AS source
  FROM unknown WHERE policy_id = :policy AND superseded_at IS NULL
),
first AS (SELECT min(valid_from) AS day FROM version WHERE policy_id = :policy AND superseded_at IS NULL),
starts AS (
  SELECT l.*, {_unknown_reason("l", "date(l.valid_from, '-1 day')")} AS unknown_before,
    l.valid_from = (SELECT day FROM first) AS first_known
  FROM linked l, asked WHERE l.valid_from {SPAN}
    AND NOT ({CONTIGUOUS} AND l.prev_text IS l.text AND l.prev_label IS l.label AND l.prev_unknown IS l.unknown)
),
ends AS (
  SELECT l.*, {_unknown_reason("l", "l.valid_to")} AS unknown_after
  FROM linked l, asked WHERE l.valid_to {SPAN} AND l.next_from IS NOT l.valid_to
)"""


def _events() -> str:
    """The events CTE: one row per start, end, and unknown beginning or ending in the span."""
    return f"""events AS (
  SELECT l.valid_from AS day, CASE
      WHEN {CONTIGUOUS} AND l.prev_unknown AND NOT l.unknown THEN 'became known'
      WHEN l.unknown THEN 'became unknown'
      WHEN {CONTIGUOUS} AND l.prev_text IS l.text THEN 'renumbered'
      WHEN {CONTIGUOUS} THEN 'changed'
      WHEN l.first_known OR l.unknown_before IS NOT NULL THEN 'became known'
      ELSE 'came into force' END AS event,
    l.kind, l.record_key, l.label, l.text,
    CASE WHEN {CONTIGUOUS} THEN l.prev_label || ' ' || l.prev_text END AS before, l.source,
    CASE WHEN {CONTIGUOUS} AND l.prev_unknown AND NOT l.unknown THEN 'cannot be compared: the earlier text is unknown'
      WHEN {CONTIGUOUS} THEN NULL
      WHEN l.first_known THEN 'cannot be compared: the knowledge base holds nothing of the policy before this date'
      WHEN l.unknown_before IS NOT NULL THEN 'cannot be compared: ' || l.unknown_before END AS note
  FROM starts l
  UNION ALL
  SELECT l.valid_to, CASE WHEN l.unknown THEN 'stopped being unknown'
      WHEN l.unknown_after IS NOT NULL THEN 'became unknown' ELSE 'went out of force' END,
    l.kind, l.record_key, l.label, l.text, NULL, l.source,
    CASE WHEN NOT l.unknown AND l.unknown_after IS NOT NULL THEN 'cannot be compared: ' || l.unknown_after END
  FROM ends l
  UNION ALL
  SELECT u.valid_from, 'became unknown', u.kind, u.kind || ':' || u.scope, u.scope, u.reason, NULL, u.source, NULL
  FROM unknowns u, asked WHERE u.valid_from {SPAN}
    AND NOT EXISTS (SELECT 1 FROM unknowns p WHERE p.kind = u.kind AND p.scope = u.scope AND p.valid_to = u.valid_from)
  UNION ALL
  SELECT u.valid_to, CASE WHEN EXISTS (SELECT 1 FROM unknowns n WHERE n.kind = u.kind AND n.scope = u.scope
      AND n.valid_from = u.valid_to) THEN 'still unknown' ELSE 'stopped being unknown' END,
    u.kind, u.kind || ':' || u.scope, u.scope, u.reason, NULL, u.source, NULL
  FROM unknowns u, asked WHERE u.valid_to {SPAN}
)"""


def changes_sql() -> str:
    """One row per event after ``:from`` and on or before ``:to`` (dates or version labels)."""
    return f"""WITH asked AS (SELECT {day("from")} AS lo, {day("to")} AS hi),
{_boundaries()},
{_events()}
SELECT day AS date, event, kind, record_key AS item, label, text, before, note, source,
  '/-/kb/diff?policy=' || :policy || '&from=' || date(day, '-1 day') || '&to=' || day AS diff
FROM events, asked
WHERE {valid_day("asked.lo")} AND {valid_day("asked.hi")}
ORDER BY day, kind, record_key, event"""


def recent_changes_sql() -> str:
    """Each revision of any policy taking effect from ``:from`` to ``:to`` (inclusive), with Atom columns."""
    clauses = (
        "(SELECT group_concat(text, char(10)) FROM (SELECT text FROM change_clause c WHERE c.policy_id = r.policy_id"
        " AND c.revision_date = r.revision_date AND c.superseded_at IS NULL ORDER BY c.ordinal))"
    )
    return f"""WITH listed AS (
  SELECT r.effective_date, r.policy_id AS policy, p.title, r.label AS revision, r.revision_date AS "Date",
    r.pt_month AS "P&T month", {clauses} AS clauses, v.label AS version,
    CASE WHEN v.label IS NULL THEN 'no version of this revision is stored: the knowledge base holds '
        || r.policy_id || ' from ' || coalesce(p.earliest_vouched, 'no date')
      WHEN v.valid_from = p.earliest_vouched THEN 'the first version the knowledge base holds: nothing earlier to compare'
    END AS note,
    CASE WHEN v.label IS NOT NULL AND v.valid_from > p.earliest_vouched THEN '/-/kb/diff?policy=' || r.policy_id
      || '&from=' || date(v.valid_from, '-1 day') || '&to=' || v.valid_from END AS diff,
    CASE WHEN v.label IS NOT NULL THEN '/-/kb/policy?policy=' || r.policy_id || '&as_of=' || v.valid_from END AS as_read
  FROM revision r JOIN policy p ON p.policy_id = r.policy_id
  LEFT JOIN version v ON v.policy_id = r.policy_id AND v.revision_date = r.revision_date AND v.superseded_at IS NULL
  WHERE r.superseded_at IS NULL AND r.effective_date BETWEEN :from AND :to
    AND {valid_day(":from")} AND {valid_day(":to")}
)
SELECT *, 'tag:policy-as-data,2025:' || policy || '/' || "Date" AS atom_id,
  policy || ' ' || revision || ', effective ' || effective_date AS atom_title,
  effective_date || 'T00:00:00Z' AS atom_updated,
  title || char(10) || coalesce(clauses, '') || coalesce(char(10) || note, '') AS atom_content,
  coalesce(diff, as_read, '/-/kb/timeline?policy=' || policy) AS atom_link
FROM listed ORDER BY effective_date DESC, policy"""


TIMELINE_SQL = """SELECT label, valid_from, coalesce(valid_to, 'open') AS valid_to, revision_date, basis,
  '/-/kb/policy?policy=' || policy_id || '&as_of=' || valid_from AS as_read,
  CASE WHEN lag(valid_from) OVER w IS NOT NULL THEN '/-/kb/diff?policy=' || policy_id || '&from=' || lag(valid_from) OVER w
    || '&to=' || valid_from END AS diff_from_previous
FROM version WHERE policy_id = :policy AND superseded_at IS NULL
WINDOW w AS (ORDER BY valid_from)
ORDER BY valid_from"""

REVISION_LOG_SQL = """SELECT label, revision_date AS "Date", pt_month AS "P&T month", effective_date, rule,
  pending_from, pending_to, description
FROM revision WHERE policy_id = :policy AND superseded_at IS NULL ORDER BY revision_date"""

UNPARSED_SQL = """SELECT d.policy_id, d.path, b.first_line, b.last_line, b.kind, b.text
FROM coverage_block b JOIN source_document d ON d.sha256 = b.document_sha256
WHERE b.status = 'unparsed' ORDER BY d.policy_id, b.first_line"""

SUSPECT_SQL = """SELECT d.policy_id, d.path, b.first_line, b.last_line, b.kind, b.reason, b.text,
  '/-/kb/coverage?policy=' || d.policy_id AS coverage
FROM coverage_block b JOIN source_document d ON d.sha256 = b.document_sha256
WHERE b.status = 'suspect' ORDER BY d.policy_id, b.first_line"""


QUERIES: dict[str, tuple[str, str, str]] = {
    "criteria_in_force": (
        "Criteria in force on a date",
        "The criteria of the version in force on as_of (a date or a version label such as V2024-05), as the policy "
        "reads: section, indication, printed label, indented by depth, logic words marked, each footnote beside its "
        "marker, and the source each item rests on. Leave known_at blank for what the knowledge base knows now.",
        criteria_sql(),
    ),
    "durations_in_force": (
        "Approval durations in force on a date",
        "Approval durations per section, indication and line of business in force on as_of (a date or a version label).",
        durations_sql(),
    ),
    "codes_in_force": (
        "Codes in force on a date",
        "Coding implications (HCPCS ...) in force on as_of (a date or a version label); an empty code means the "
        "source gives none.",
        codes_sql(),
    ),
    "cross_references_in_force": (
        "Cross-references in force on a date",
        "Policies to refer to, per line of business and role, in force on as_of (a date or a version label).",
        cross_references_sql(),
    ),
    "version_timeline": (
        "Version timeline of a policy",
        "Every version of the policy with its window and basis, linked to the policy as it read and to the diff "
        "from the version before.",
        TIMELINE_SQL,
    ),
    "revision_log": (
        "Revision log with Date, P&T and effective dates",
        "The Reviews, Revisions, and Approvals rows of a policy: the Date written, the P&T approval month, the "
        "effective date under the stored rule, and the rule-dependent window between them.",
        REVISION_LOG_SQL,
    ),
    "changes_between": (
        "Changes between two dates",
        "One row per event after from and on or before to (dates or version labels) across criteria, durations, "
        "cross-references, codes, references, statements and dosing: came into force, went out of force, changed, "
        "renumbered, became known (what was unknown, or not covered, before), became unknown, stopped being unknown. "
        "Each row links to the diff of its step.",
        changes_sql(),
    ),
    "recent_changes": (
        "Recent changes across all policies",
        "Every revision of every policy taking effect from from to to (both included): its effective date, its "
        "change clauses and a link to its diff. Add .atom to the address for an Atom feed of the same rows.",
        recent_changes_sql(),
    ),
    "unparsed_passages": (
        "Unparsed passages of each loaded document",
        "Text of a document that no parser understood: kept and listed, never dropped.",
        UNPARSED_SQL,
    ),
    "suspect_passages": (
        "Suspect passages of each loaded document",
        "Text a loader read but doubts (a logic hint with no logic read, a label out of sequence ...), with the "
        "reason, across every loaded document; the coverage link shows the document's figures and passages.",
        SUSPECT_SQL,
    ),
    "predicate_coverage": (
        "Predicate coverage",
        "Leaf criteria of each policy's newest version read into factual predicates, referrals, or left to "
        "clinical review, per policy and in total (the figures kb load prints).",
        COVERAGE_SQL,
    ),
    "clinical_review": (
        "Criteria left to clinical review",
        "Every criterion (or footnote) of the newest versions that a person must decide, with the reason: a "
        "clinician's judgement the text asks for (adequate representation in a study, literature that supports a "
        "dose, a titration to response), never a text the reading failed on without saying so.",
        REVIEW_SQL,
    ),
}


def metadata_queries() -> dict[str, dict[str, Any]]:
    """The ``queries`` block of the metadata file."""
    return {
        name: {"title": title, "description": description, "sql": sql, "hide_sql": True}
        for name, (title, description, sql) in QUERIES.items()
    }


def write_metadata(path: Path = METADATA) -> None:
    """Put the canned queries into the metadata file, leaving the rest as it is."""
    data = json.loads(path.read_text(encoding="utf-8"))
    data["databases"]["kb"]["queries"] = metadata_queries()
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
