"""Rendering scenario results (``ScenarioResult.to_json()`` dicts): JSON, JUnit XML, Markdown, HTML.

Every function is a pure function of its inputs: the same results give the same bytes, and
nothing appears that is not in the results (or in ``run_info`` when the caller passes it).
"""

from __future__ import annotations

import base64
import json
import re
import xml.etree.ElementTree as ET
from typing import Any

from ibs.reports.scenario_report import charts

STATUS_ORDER = ("Succeeded", "PartialSucceeded", "Failed", "Skipped", "Running", "Queued",
                "Deleted")
GB = 1e9


# --- small words -------------------------------------------------------------------------------

def gb(n: Any) -> str:
    if not isinstance(n, (int, float)):
        return "–"
    v = n / GB
    if v == 0:
        return "0 GB"
    return f"{v:,.2f} GB" if v < 10 else f"{v:,.1f} GB"


def duration(text: Any) -> str:
    """``PT13M19.33S`` as ``13 m 19 s``."""
    if not isinstance(text, str):
        return "–"
    m = re.fullmatch(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?", text)
    if not m:
        return text
    d, h, mi, s = (float(x) if x else 0.0 for x in m.groups())
    total = int(round(((d * 24 + h) * 60 + mi) * 60 + s))
    if total < 60:
        return f"{total} s"
    hh, rest = divmod(total, 3600)
    mm, ss = divmod(rest, 60)
    return f"{hh} h {mm:02d} m" if hh else f"{mm} m {ss:02d} s"


def when(text: Any) -> str:
    if not isinstance(text, str) or not text:
        return "–"
    return text.replace("T", " ")[:19]


def day(t: Any) -> str:
    return f"day {t / 86400:.2f}" if isinstance(t, (int, float)) else ""


def backup_counts(result: dict[str, Any]) -> list[tuple[str, int]]:
    counts = dict((result.get("summary") or {}).get("backups") or {})
    if not counts:
        for b in result.get("backups") or []:
            counts[b.get("status")] = counts.get(b.get("status"), 0) + 1
    crashed = len(charts.crashed_ids(result))
    keys = [s for s in STATUS_ORDER if s in counts]
    keys += sorted(k for k in counts if k not in STATUS_ORDER and k)
    out = [(k, int(counts[k])) for k in keys if counts[k]]
    if crashed:
        out.append(("Crashed", crashed))
    return out


def counts_text(result: dict[str, Any]) -> str:
    pairs = backup_counts(result)
    return ", ".join(f"{k} {v}" for k, v in pairs) if pairs else "none"


def checks_split(result: dict[str, Any]) -> tuple[list[dict], list[dict]]:
    checks = result.get("checks") or []
    return [c for c in checks if not c.get("passed")], [c for c in checks if c.get("passed")]


def share_line(result: dict[str, Any]) -> dict[str, Any]:
    s = result.get("summary") or {}
    peak, budget = s.get("sharePeakBytes"), s.get("budgetBytes")
    pct = (100.0 * peak / budget) if isinstance(peak, (int, float)) and budget else None
    return {"peak": gb(peak), "budget": gb(budget), "pct": pct,
            "pct_text": "" if pct is None else f"{pct:.0f} %",
            "over": pct is not None and pct > 100,
            "bar": 0 if pct is None else max(0.0, min(pct, 100.0))}


def counts(results: list[dict[str, Any]]) -> dict[str, int]:
    passed = sum(1 for r in results if r.get("passed"))
    return {"passed": passed, "failed": len(results) - passed}


def _slug(i: int) -> str:
    return f"s{i + 1}"


def _plain(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def event_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for e in result.get("events") or []:
        if e.get("event") == "traceback":
            continue
        fields = {k: v for k, v in e.items() if k not in ("t", "at", "event")}
        rows.append({"day": day(e.get("t")), "at": when(e.get("at")), "event": e.get("event", ""),
                     "fields": ", ".join(f"{k}={_plain(v)}" for k, v in fields.items())})
    return rows


def traceback_text(result: dict[str, Any]) -> str:
    return "".join(e.get("text", "") for e in result.get("events") or []
                   if e.get("event") == "traceback")


def scenario_context(i: int, result: dict[str, Any], with_charts: bool) -> dict[str, Any]:
    failed, passed = checks_split(result)
    skipped_at = {e.get("id"): e.get("t") for e in result.get("events") or []
                  if e.get("event") == "backup skipped"}
    ctx = {
        "r": result, "anchor": _slug(i), "name": result.get("name", f"scenario {i + 1}"),
        "tags": list(result.get("tags") or []), "failed_checks": failed, "passed_checks": passed,
        "n_checks": len(result.get("checks") or []), "counts": backup_counts(result),
        "counts_text": counts_text(result), "share": share_line(result),
        "description": (result.get("description") or "").strip(),
        "backups": [{**b, "created": when(b.get("createdDateTime")),
                     "taken": duration(b.get("timeTakenToCreate")), "size": gb(b.get("sizeBytes")),
                     "started_day": day(b.get("startedAt") if b.get("startedAt") is not None
                                        else skipped_at.get(b.get("id"))),
                     "crashed": b.get("id") in charts.crashed_ids(result)}
                    for b in result.get("backups") or []],
        "alerts": list((result.get("summary") or {}).get("alerts") or []),
        "recoveries": sorted((result.get("recoveries") or {}).items()),
        "events": event_rows(result), "traceback": traceback_text(result),
        "show_capacity": charts.show_capacity(result),
    }
    if with_charts:
        ctx["timeline_b64"] = base64.b64encode(charts.timeline_png(result)).decode("ascii")
        ctx["occupancy_b64"] = base64.b64encode(charts.occupancy_png(result)).decode("ascii")
    return ctx


def _context(results, title, run_info, with_charts: bool) -> dict[str, Any]:
    c = counts(results)
    return {"title": title, "run_info": sorted((run_info or {}).items()),
            "passed": c["failed"] == 0, "counts": c, "total": len(results),
            "scenarios": [scenario_context(i, r, with_charts) for i, r in enumerate(results)],
            "statuses": charts.STATUS_COLOURS}


# --- the four formats --------------------------------------------------------------------------

def to_json(results: list[dict[str, Any]], title: str, run_info: dict | None) -> str:
    c = counts(results)
    doc = {"title": title, "runInfo": run_info or {}, "passed": c["failed"] == 0, "counts": c,
           "scenarios": results}
    return json.dumps(doc, indent=2, sort_keys=False, default=str) + "\n"


_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _x(text: Any) -> str:
    return _XML_BAD.sub("?", "" if text is None else str(text))


def to_junit(results: list[dict[str, Any]], title: str) -> str:
    errors = sum(1 for r in results if r.get("error"))
    failures = sum(1 for r in results if not r.get("passed") and not r.get("error"))
    suite = ET.Element("testsuite", {
        "name": _x(title), "tests": str(len(results)), "failures": str(failures),
        "errors": str(errors), "skipped": "0"})
    # ``time`` is optional in the JUnit schema; a result without wall seconds gets none rather
    # than a made-up 0, which CI would chart as a real duration.
    timed = [float(r["seconds"]) for r in results if r.get("seconds") is not None]
    if timed:
        suite.set("time", f"{sum(timed):.3f}")
    for r in results:
        tags = r.get("tags") or []
        case = ET.SubElement(suite, "testcase", {
            "classname": _x(tags[0] if tags else "scenarios"), "name": _x(r.get("name"))})
        if r.get("seconds") is not None:
            case.set("time", f"{float(r['seconds']):.3f}")
        props = ET.SubElement(case, "properties")
        for key, value in (("path", r.get("path")), ("seed", r.get("seed")),
                           ("fidelity", r.get("fidelity")), ("days", r.get("days")),
                           ("tags", ",".join(tags))):
            ET.SubElement(props, "property", {"name": key, "value": _x(value)})
        failed, _passed = checks_split(r)
        replay = r.get("replay") or ""
        if r.get("error"):
            el = ET.SubElement(case, "error", {"message": _x(r["error"]),
                                               "type": _x(str(r["error"]).split(":", 1)[0])})
            el.text = _x("\n".join(filter(None, [r["error"], traceback_text(r),
                                                 f"replay: {replay}" if replay else ""])))
        elif not r.get("passed"):
            names = "; ".join(f"{ch.get('name')}: {ch.get('detail')}" for ch in failed)
            message = (f"{len(failed)} of {len(r.get('checks') or [])} checks failed: {names}"
                       if failed else "scenario failed")
            if replay:
                message += f" | replay: {replay}"
            el = ET.SubElement(case, "failure", {"message": _x(message), "type": "ScenarioFailed"})
            lines = [f"FAILED {ch.get('name')}: {ch.get('detail')}" for ch in failed]
            if replay:
                lines.append(f"replay: {replay}")
            el.text = _x("\n".join(lines))
        out = ET.SubElement(case, "system-out")
        out.text = _x(f"replay: {replay}" if replay else "")
    ET.indent(suite, space="  ")
    body = ET.tostring(suite, encoding="unicode")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + body + "\n"


def _md_cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def to_markdown(results: list[dict[str, Any]], title: str, run_info: dict | None) -> str:
    from ibs.reports.scenario_report.templates import environment

    env = environment(html=False)
    env.filters["cell"] = _md_cell
    text = env.get_template("report.md").render(**_context(results, title, run_info, False))
    return re.sub(r"\n{3,}", "\n\n", text)


def to_html(results: list[dict[str, Any]], title: str, run_info: dict | None) -> str:
    from ibs.reports.scenario_report.templates import environment

    return environment(html=True).get_template("report.html").render(
        **_context(results, title, run_info, True))
