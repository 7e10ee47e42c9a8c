"""A sizing sweep's rows (plain dicts, simulator/sweep.py) as Markdown, CSV or JSON."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from ibs.engine.units import format_bytes

COLUMNS = ("env", "frequencyHours", "retentionDays", "growthPctPerYear", "shareGb",
           "shareCapacityBytes", "days", "sizingPeakBytes", "simulatedPeakBytes",
           "sizingBackupsKept", "simulatedBackupsKept", "sizingRunsOutOn", "simulatedRunsOutOn",
           "agree")


def to_json(rows: list[dict[str, Any]]) -> str:
    agree = sum(r["agree"] for r in rows)
    return json.dumps({"points": len(rows), "agree": agree, "disagree": len(rows) - agree,
                       "rows": rows}, indent=2, sort_keys=True) + "\n"


def to_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in rows:
        writer.writerow(["" if r[c] is None else r[c] for c in COLUMNS])
    return out.getvalue()


def to_markdown(rows: list[dict[str, Any]]) -> str:
    head = ("hub", "every h", "kept d", "growth %/y", "share", "sizing peak", "simulated peak",
            "kept", "runs out (sizing / simulation)", "agree")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        lines.append("| " + " | ".join([
            r["env"], str(r["frequencyHours"]), str(r["retentionDays"]),
            f"{r['growthPctPerYear']:g}", format_bytes(r["shareCapacityBytes"]),
            format_bytes(r["sizingPeakBytes"]), format_bytes(r["simulatedPeakBytes"]),
            f"{r['sizingBackupsKept']} / {r['simulatedBackupsKept']}",
            f"{r['sizingRunsOutOn'] or 'never'} / {r['simulatedRunsOutOn'] or 'never'}",
            "yes" if r["agree"] else "**NO**"]) + " |")
    agree = sum(r["agree"] for r in rows)
    lines.append(f"\n{len(rows)} points; {agree} agree, {len(rows) - agree} disagree.")
    return "\n".join(lines) + "\n"
