"""Predicate coverage: how many leaf criteria of each policy's newest version carry a factual
predicate, a referral, or need clinical review. One SQL text serves ``kb load``, the API and
the Datasette canned query ``predicate_coverage``.

A leaf is *factual* when its predicate reads only facts of the vocabulary (no clinical review
anywhere in it), a *referral* when it sends the reader to another policy, *review* otherwise.
``factual %`` is factual / (leaves - referrals): of the leaves that state a condition, how
many the evaluator can decide from facts.
"""

from __future__ import annotations

import sqlite3
from typing import Any

COVERAGE_SQL = """
WITH live AS (
  SELECT policy_id, item_id, parent_id, predicate, predicate_rule FROM criterion
  WHERE superseded_at IS NULL AND valid_to IS NULL
),
leaf AS (
  SELECT l.policy_id,
    CASE
      WHEN l.predicate_rule = 'referral' THEN 'referral'
      WHEN l.predicate LIKE '%"op": "review"%' THEN 'review'
      ELSE 'factual'
    END AS kind
  FROM live l
  WHERE NOT EXISTS (SELECT 1 FROM live c WHERE c.policy_id = l.policy_id AND c.parent_id = l.item_id)
),
counted AS (
  SELECT policy_id, COUNT(*) AS leaves, SUM(kind = 'factual') AS factual,
    SUM(kind = 'referral') AS referral, SUM(kind = 'review') AS review
  FROM leaf GROUP BY policy_id
  UNION ALL
  SELECT 'total', COUNT(*), SUM(kind = 'factual'), SUM(kind = 'referral'), SUM(kind = 'review') FROM leaf
)
SELECT policy_id, leaves, factual, referral, review,
  ROUND(100.0 * factual / MAX(leaves - referral, 1), 1) AS factual_pct,
  ROUND(100.0 * (factual + referral) / MAX(leaves, 1), 1) AS read_pct
FROM counted
""".strip()


def coverage(connection: sqlite3.Connection) -> list[dict[str, Any]]:
    """One row per policy and a last row 'total'."""
    return [dict(row) for row in connection.execute(COVERAGE_SQL).fetchall()]


REVIEW_SQL = """
WITH live AS (
  SELECT policy_id, item_id, section, text, predicate, footnote_text, footnote_predicate FROM criterion
  WHERE superseded_at IS NULL AND valid_to IS NULL
)
SELECT l.policy_id, l.item_id, 'criterion' AS part, l.text, j.value AS reason
FROM live l, json_tree(l.predicate) j
WHERE j.key = 'reason' AND json_extract(l.predicate, j.path || '.op') = 'review'
UNION ALL
SELECT l.policy_id, l.item_id, 'footnote', l.footnote_text, j.value
FROM live l, json_tree(l.footnote_predicate) j
WHERE l.footnote_predicate IS NOT NULL AND j.key = 'reason' AND json_extract(l.footnote_predicate, j.path || '.op') = 'review'
ORDER BY 1, 2, 3
""".strip()
"""Every criterion (or footnote) of the newest versions left to clinical review, with its reason."""


def reviews(connection: sqlite3.Connection) -> list[dict[str, Any]]:
    """The criteria of the newest versions that need clinical review, one row per reason."""
    return [dict(row) for row in connection.execute(REVIEW_SQL).fetchall()]
