"""Hostile documents: the bundled policy with script tags, event handlers and ``javascript:`` URLs
written into its text, and the check that an HTML page shows such text and never runs it.

Every payload carries ``MARK``, so a page can be searched for document text that became markup:
a tag or attribute carrying the mark, a script or style whose content carries it, an event
handler with it, or any ``javascript:`` URL.
"""

from __future__ import annotations

import asyncio
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from kb.surfaces.api import KnowledgeBase, bundled_policy_paths
from kb.surfaces.export import export_html
from kb.surfaces.reports import diff_html

MARK = "kbxss"
POLICY = "CP.PHAR.359"
PAYLOADS = (
    (
        "Clinical Policy: Inotuzumab Ozogamicin (Besponsa)",
        f"Clinical Policy: Inotuzumab Ozogamicin <script>alert('{MARK}-title')</script> (Besponsa)",
    ),
    ("is a CD22-directed antibody", f"is a <img src=x onerror=alert('{MARK}-description')> CD22-directed antibody"),
    ("1. Diagnosis of B-cell ALL;", f"1. Diagnosis of B-cell ALL <script>alert('{MARK}-criterion')</script>;"),
    (
        "2. Prescribed by or in consultation with an oncologist or hematologist;",
        f"2. Prescribed by or in consultation with an oncologist or hematologist [click](javascript:alert('{MARK}-link'));",
    ),
    ("Available at: <https://besponsa.pfizerpro.com>.", f"Available at: javascript:alert('{MARK}-url')."),
    (
        "Available at: http://www.nccn.org/professionals/drug_compendium.",
        f"Available at: <javascript:alert('{MARK}-autolink')>.",
    ),
    ("Injection, inotuzumab ozogamicin, 0.1 mg", f"Injection, inotuzumab <svg onload=alert('{MARK}-code')>, 0.1 mg"),
    (
        "references reviewed and updated.\t07.15.25",
        f"references reviewed and updated <iframe src=\"javascript:alert('{MARK}-log')\"></iframe>.\t07.15.25",
    ),
    (
        "Single-dose vial, powder for reconstitution: 0.9 mg",
        "Single-dose vial, powder for reconstitution: 0.9 mg"
        f' "><a href="javascript:alert(\'{MARK}-attr\')" onclick="alert(\'{MARK}-click\')">x</a>'
        f" ![x](javascript:alert('{MARK}-image'))",
    ),
    (
        "HSCT: hematopoietic stem cell transplant",
        f"HSCT: hematopoietic <style>/*{MARK}-style*/</style> stem cell transplant",
    ),
)
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "srcdoc"}


def hostile_text() -> str:
    """The bundled policy with every payload written into it (each replaces text that is there)."""
    text = bundled_policy_paths()[0].read_text(encoding="utf-8")
    for original, payload in PAYLOADS:
        if original not in text:
            raise ValueError(f"the bundled policy no longer reads {original!r}")
        text = text.replace(original, payload, 1)
    return text


class _Scan(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.live: list[str] = []
        self.text: list[str] = []
        self.inside: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            value = value or ""
            if MARK in name or MARK in tag:
                self.live.append(f"<{tag} {name}>: document text became a tag or attribute")
            elif name.startswith("on") and MARK in value:
                self.live.append(f"<{tag} {name}={value!r}>: an event handler from document text")
            elif name in URL_ATTRIBUTES and re.sub(r"\s", "", value).lower().startswith("javascript:"):
                self.live.append(f"<{tag} {name}={value!r}>: a javascript: URL")
            elif MARK in value and tag in ("a", "img", "svg", "iframe", "script", "style", "object", "embed"):
                self.live.append(f"<{tag} {name}={value!r}>: a tag from document text")
        if tag in ("script", "style"):
            self.inside.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self.inside and self.inside[-1] == tag:
            self.inside.pop()

    def handle_data(self, data: str) -> None:
        if self.inside and MARK in data:
            self.live.append(f"<{self.inside[-1]}> holding document text: {data[:60]!r}")
        elif not self.inside:
            self.text.append(data)


def scan(html: str) -> tuple[list[str], str]:
    """(live markup made of document text, the page's visible text)."""
    parser = _Scan()
    parser.feed(html)
    parser.close()
    return parser.live, "".join(parser.text)


def load_hostile(folder: Path) -> KnowledgeBase:
    """A knowledge base ``folder/kb.sqlite`` holding the hostile copy of the bundled policy."""
    document = folder / "CP.PHAR.359-hostile.txt"
    document.write_text(hostile_text(), encoding="utf-8")
    kb = KnowledgeBase(folder / "kb.sqlite")
    kb.load([document])
    return kb


def report_pages(kb: KnowledgeBase) -> dict[str, str]:
    """The HTML reports the CLI writes: the policy as it read on two dates, and the diff between them."""
    return {
        "export html 2024-08-01": export_html(kb.as_of(POLICY, "2024-08-01")),
        "export html 2025-12-01": export_html(kb.as_of(POLICY, "2025-12-01")),
        "diff html 2019-06-01 -> 2025-12-01": diff_html([kb.diff(POLICY, "2019-06-01", "2025-12-01")]),
    }


PARAMETERS = {"policy": POLICY, "as_of": "2025-12-01", "from": "2019-06-01", "to": "2025-12-01", "known_at": ""}


def site_pages(database: Path, metadata: dict[str, Any]) -> dict[str, str]:
    """Every page of the Datasette site: index, database, each table, each canned query, each plugin page."""
    from datasette.app import Datasette

    async def fetch() -> dict[str, str]:
        site = Datasette(immutables=[str(database)], metadata=metadata)
        await site.invoke_startup()
        name = database.stem
        tables = await site.get_database(name).table_names()
        urls = ["/", f"/{name}", *(f"/{name}/{table}" for table in tables)]
        for query, spec in metadata["databases"][name].get("queries", {}).items():
            used = dict.fromkeys(re.findall(r":([A-Za-z_]\w*)", spec["sql"]))
            urls.append(f"/{name}/{query}?" + "&".join(f"{k}={PARAMETERS.get(k, '')}" for k in used))
        urls += [
            f"/-/kb/policy?policy={POLICY}&as_of=2025-12-01",
            f"/-/kb/diff?policy={POLICY}&from=2019-06-01&to=2025-12-01",
            f"/-/kb/coverage?policy={POLICY}",
            f"/-/kb/questionnaire?policy={POLICY}&as_of=2025-12-01",
            f"/{name}/passage?_search=CD22",
            f"/{name}/passage?_search=diagnosis",
        ]
        pages = {}
        for url in urls:
            response = await site.client.get(url)
            if response.status_code != 200:
                raise RuntimeError(f"{url} answered {response.status_code}")
            pages[url] = response.text
        return pages

    return asyncio.run(fetch())


def site_metadata(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))
