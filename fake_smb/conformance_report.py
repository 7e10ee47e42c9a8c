"""The conformance table, side by side: Markdown for people, JSON for programs.

Both are pure functions of a Result, with no clock: the same run gives the same files
(durations aside, which are measured).
"""

from __future__ import annotations

import json
from pathlib import Path

from ibs.fake_smb.conformance import Result, Row

MARKDOWN = "conformance.md"
JSON = "conformance.json"

_TOTAL_LABELS = {
    "tests": "tests run",
    "samba_passes": "Samba passes",
    "fake_smb_passes": "fake_smb passes",
    "fake_smb_fails_where_samba_passes": "fake_smb fails where Samba passes",
    "allowlisted": "... of those allowlisted",
    "not_allowlisted": "... of those NOT allowlisted",
    "fake_smb_passes_where_samba_does_not": "fake_smb passes where Samba does not",
}


def _outcome(o) -> dict:
    return {"status": o.status, "detail": o.detail, "seconds": o.seconds}


def to_json(result: Result) -> dict:
    return {
        "suites": result.suites,
        "timeout_seconds": result.timeout,
        "totals": result.totals(),
        "unexpected": result.unexpected,
        "stale_allowlist": result.stale,
        "tests": [
            {"test": r.test, "suite": r.suite, "samba": _outcome(r.samba),
             "fake_smb": _outcome(r.fake_smb), "gap": r.gap, "allowlist_reason": r.reason}
            for r in result.rows
        ],
    }


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _note(row: Row) -> str:
    if row.unexpected:
        return f"**NOT ALLOWLISTED**: {row.fake_smb.detail}"
    if row.allowlisted:
        return f"allowlisted: {row.reason}"
    if row.reason is not None:
        return f"stale allowlist entry ({row.reason})"
    if row.fake_smb.status != "pass":
        return row.fake_smb.detail
    return ""


def to_markdown(result: Result) -> str:
    totals = result.totals()
    lines = ["# fake_smb conformance (smbtorture)", "",
             (f"Suites: {', '.join(result.suites) or '-'}; each test alone on an empty share, "
             f"bounded by {result.timeout:g} s."), "",
             "| total | count |", "|---|---:|"]
    lines += [f"| {_TOTAL_LABELS[k]} | {v} |" for k, v in totals.items()]
    lines.append("")
    if result.unexpected:
        lines += ["**fake_smb fails where Samba passes, not allowlisted:** "
                  + ", ".join(f"`{t}`" for t in result.unexpected), ""]
    if result.stale:
        lines += ["Allowlisted but no longer a gap (remove from the allowlist): "
                  + ", ".join(f"`{t}`" for t in result.stale), ""]
    suite = None
    for i, row in enumerate(result.rows):
        if row.suite != suite:
            suite = row.suite
            lines += [f"## {suite}", "", "| test | Samba | fake_smb | note |", "|---|---|---|---|"]
        lines.append(f"| `{row.test}` | {row.samba.status} | {row.fake_smb.status} "
                     f"| {_cell(_note(row))} |")
        if i + 1 == len(result.rows) or result.rows[i + 1].suite != suite:
            lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def write(result: Result, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    md, js = out_dir / MARKDOWN, out_dir / JSON
    md.write_text(to_markdown(result), encoding="utf-8")
    js.write_text(json.dumps(to_json(result), indent=2) + "\n", encoding="utf-8")
    return md, js
