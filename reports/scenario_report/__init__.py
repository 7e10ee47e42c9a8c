"""Reports of a scenario-suite run: HTML for people, Markdown for pull requests, JSON for
machines and JUnit XML for CI, all rendered from ``ScenarioResult.to_json()`` dicts.

``write_reports`` is deterministic: the same results (and ``run_info``) give the same bytes.
"""

from __future__ import annotations

import os
from typing import Any

from ibs.reports.scenario_report.render import to_html, to_json, to_junit, to_markdown

__all__ = ["write_reports", "to_html", "to_json", "to_junit", "to_markdown"]


def _write(path: str, text: str) -> str:
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    return path


def write_reports(results: list[dict[str, Any]], folder: str, *, junit: str | None = None,
                  title: str = "ibs scenario suite",
                  run_info: dict | None = None) -> dict[str, str]:
    """Write report.html, report.md, report.json and junit.xml into ``folder``; return their paths.

    ``junit``, when given, is a second path for the JUnit XML (for CI that looks elsewhere).
    """
    os.makedirs(folder, exist_ok=True)
    xml = to_junit(results, title)
    paths = {
        "html": _write(os.path.join(folder, "report.html"), to_html(results, title, run_info)),
        "md": _write(os.path.join(folder, "report.md"), to_markdown(results, title, run_info)),
        "json": _write(os.path.join(folder, "report.json"), to_json(results, title, run_info)),
        "junit": _write(os.path.join(folder, "junit.xml"), xml),
    }
    if junit:
        parent = os.path.dirname(os.path.abspath(junit))
        os.makedirs(parent, exist_ok=True)
        _write(junit, xml)
    return paths
