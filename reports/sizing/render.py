"""Rendering a :class:`simulator.sizing.SizingReport`: JSON, CSV, Markdown, HTML and the chart.

Everything here is a pure function of the report: same report, same bytes (the PNG carries no
date or software stamp).
"""

from __future__ import annotations

import base64
import csv
import io
import json
from typing import TYPE_CHECKING, Any

from ibs.simulator.sizing import FREQUENCIES, RETENTIONS, format_bytes

if TYPE_CHECKING:
    from ibs.simulator.sizing import SizingReport

CSV_FIELDS = ("frequencyHours", "retentionDays", "backupsKept", "requiredBytes", "peakBytes",
              "overCapacity")


def to_json(report: SizingReport) -> str:
    return json.dumps(report.to_dict(), indent=2) + "\n"


def to_csv(report: SizingReport) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n")
    w.writeheader()
    for row in report.table:
        d = row.to_dict()
        d["overCapacity"] = "" if d["overCapacity"] is None else str(d["overCapacity"]).lower()
        w.writerow(d)
    return buf.getvalue()


# --- words shared by md and html ---------------------------------------------------------------

def long_date(d) -> str:  # noqa: ANN001
    return f"{d.day} {d:%B %Y}"


def short_date(d) -> str:  # noqa: ANN001
    return f"{d.day} {d:%b %Y}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _pct(x: float) -> str:
    return f"{x:g} %"


def explanation(report: SizingReport) -> list[str]:
    """The plain-language paragraph, as sentences."""
    i = report.inputs
    size = format_bytes(report.per_backup_bytes)
    kept = report.backups_kept
    exact = 24 * i.retention_days / i.frequency_hours
    s = [f"A full backup every {_plural(i.frequency_hours, 'hour')} kept for "
         f"{_plural(i.retention_days, 'day')} means {kept} backups on the share"
         + ("." if exact == kept else
            f" (24 / {i.frequency_hours} × {i.retention_days} = {exact:.2f}, rounded up: a backup "
            f"is deleted only once it is {_plural(i.retention_days, 'day')} old).")]
    what = "each" if i.env is None else f"each ({i.env_label})"
    s.append(f"At {size} {what} that is {format_bytes(report.required_bytes)}.")
    s.append(f"The engine deletes expired backups before it writes the next one, so the share "
             f"holds at most {_plural(kept, 'backup')}: {format_bytes(report.required_bytes)}.")
    if i.growth:
        s.append(f"With backups growing {i.growth.describe()}, the last backup in "
                 f"{_horizon(i)} is {format_bytes(report.final_per_backup_bytes)} and "
                 f"the peak reaches {format_bytes(report.peak_bytes)} by "
                 f"{long_date(report.end_date)}.")
    extra = report.on_demand_peak_bytes - report.peak_bytes
    s.append(f"One on-demand backup between two scheduled ones adds {format_bytes(extra)} until "
             f"it expires ({format_bytes(report.on_demand_peak_bytes)} in all).")
    s.append("A share exactly as large as the peak holds the schedule: the engine starts a "
             "backup when the share has room for one more of the last one's size (manifest and "
             "framing included), after deleting the expired ones; only the very first backup "
             "also needs a 64 KiB margin.")
    if i.share_used_bytes:
        s.append(f"Other data already takes {format_bytes(i.share_used_bytes)} of the share.")
    s.append(f"Recommended share size: {format_bytes(report.recommended_bytes)} (the peak, plus "
             f"room for one on-demand backup"
             + (", plus the space already used" if i.share_used_bytes else "") + ").")
    minutes = report.job_seconds / 60
    s.append(f"At {i.link_mb_per_second:g} MB/s to the share a job takes about "
             f"{minutes:.0f} minutes"
             + (f", longer than the {i.frequency_hours} hours between backups: the schedule "
                "cannot keep up and scheduled backups will be skipped."
                if report.job_seconds > i.frequency_hours * 3600 else "."))
    documented = i.documented_total_bytes
    if documented is not None and (i.frequency_hours, i.retention_days) == (12, 7) \
            and documented != report.required_bytes:
        s.append(f"Microsoft's sizing table lists {format_bytes(documented)} for this environment, "
                 f"more than the formula gives; budget for the larger figure.")
    if i.share_capacity_bytes is not None:
        cap = format_bytes(i.share_capacity_bytes)
        if report.runs_out_on is None:
            s.append(f"A share of {cap} leaves {format_bytes(report.headroom_bytes)} of headroom "
                     f"at that peak: it does not run out within {_horizon(i)}"
                     + (", but it has no room for an on-demand backup at the peak."
                        if report.on_demand_peak_bytes > i.share_capacity_bytes else "."))
        else:
            s.append(f"A share of {cap} is {format_bytes(-report.headroom_bytes)} too small at the "
                     f"peak: it runs out on {long_date(report.runs_out_on)}, when a backup no "
                     f"longer "
                     f"fits and the service raises the \"share out of capacity\" alert.")
    return s


def key_figures(report: SizingReport) -> list[dict[str, str]]:
    i = report.inputs
    grown = bool(i.growth)
    figs = [
        {"label": "Per backup", "value": format_bytes(report.per_backup_bytes),
         "note": (f"{format_bytes(report.final_per_backup_bytes)} after {_horizon(i)}"
                  if grown else i.env_label)},
        {"label": "Backups kept", "value": str(report.backups_kept),
         "note": f"every {i.frequency_hours} h for {_plural(i.retention_days, 'day')}"},
        {"label": "Required", "value": format_bytes(report.required_bytes),
         "note": "per backup × backups kept"},
        {"label": "Peak during a write", "value": format_bytes(report.peak_bytes),
         "note": (f"scheduled backups, with growth, by {short_date(report.end_date)}" if grown
                  else "= required: expired backups go first")},
        {"label": "With one on-demand backup", "value": format_bytes(report.on_demand_peak_bytes),
         "note": "advisory: peak + one backup, until it expires"},
        {"label": "Recommended share", "value": format_bytes(report.recommended_bytes),
         "note": "peak + one on-demand backup" + (" + space used" if i.share_used_bytes else "")},
    ]
    if i.share_capacity_bytes is None:
        figs.append({"label": "Headroom", "value": "—", "note": "give --share-capacity-gb"})
        figs.append({"label": "Share runs out", "value": "—", "note": "no capacity given"})
    else:
        head = report.headroom_bytes
        figs.append({"label": "Headroom", "value": format_bytes(head),
                     "note": f"of {format_bytes(i.share_capacity_bytes)} at the peak",
                     "tone": "bad" if head < 0 else "good"})
        if report.runs_out_on is None:
            figs.append({"label": "Share runs out", "value": "Never",
                         "note": f"within {_horizon(i)}", "tone": "good"})
        else:
            figs.append({"label": "Share runs out", "value": short_date(report.runs_out_on),
                         "note": f"day {(report.runs_out_on - i.start).days} of the plan",
                         "tone": "bad"})
    return figs


def inputs_list(report: SizingReport) -> list[tuple[str, str]]:
    i = report.inputs
    return [
        ("Environment", i.env_label if i.env
         else f"custom: {format_bytes(report.per_backup_bytes)} a backup"),
        ("Backup frequency", f"every {_plural(i.frequency_hours, 'hour')}"),
        ("Retention", _plural(i.retention_days, "day")),
        ("Growth", i.growth.describe()),
        ("Horizon", f"{_horizon(i)} from {short_date(i.start)}"),
        ("Share capacity", format_bytes(i.share_capacity_bytes) if i.share_capacity_bytes
         else "not given"),
        ("Already used on the share", format_bytes(i.share_used_bytes)),
        ("Link to the share", f"{i.link_mb_per_second:g} MB/s"),
    ]


def _horizon(i) -> str:
    return _plural(i.days, "day") if i.days is not None else _plural(i.years, "year")


def matrix(report: SizingReport) -> dict[str, Any]:
    """The table as rows of retention × columns of frequency, with per-cell flags."""
    i = report.inputs
    rows = []
    for r in RETENTIONS:
        cells = []
        for f in FREQUENCIES:
            row = report.row(f, r)
            cells.append({"required": format_bytes(row.required_bytes),
                          "peak": format_bytes(row.peak_bytes), "kept": row.backups_kept,
                          "policy": (f, r) == (i.frequency_hours, i.retention_days),
                          "over": bool(row.over_capacity)})
        rows.append({"retention": r, "cells": cells})
    return {"frequencies": FREQUENCIES, "rows": rows}


# --- chart -------------------------------------------------------------------------------------

def chart_png(report: SizingReport, dpi: int = 150) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    i = report.inputs
    dates = [d.date for d in report.occupancy]
    on_share = [d.bytes for d in report.occupancy]
    peaks = [d.peak_bytes for d in report.occupancy]
    fig, ax = plt.subplots(figsize=(10, 4.2), dpi=dpi)
    try:
        ax.fill_between(dates, on_share, step="post", color="#0f6cbd", alpha=0.18, linewidth=0)
        ax.step(dates, on_share, where="post", color="#0f6cbd", linewidth=1.6,
                label="on the share at the end of the day")
        ax.step(dates, peaks, where="post", color="#e3008c", linewidth=1.0, alpha=0.85,
                label="highest point of the day (just after a write)")
        ax.axhline(report.required_bytes, color="#3c4043", linestyle=(0, (5, 3)), linewidth=1.3,
                   zorder=4,
                   label=f"budget: {format_bytes(report.required_bytes)} (per backup × kept)")
        top = max(peaks)
        if i.share_capacity_bytes is not None:
            cap = i.share_capacity_bytes
            ax.axhline(cap, color="#c50f1f", linewidth=1.8,
                       label=f"share capacity: {format_bytes(cap)}")
            top = max(top, cap)
            if report.runs_out_on is not None:
                ax.axvline(report.runs_out_on, color="#c50f1f", linestyle=":", linewidth=1.2)
                ax.annotate(f"runs out {short_date(report.runs_out_on)}",
                            xy=(report.runs_out_on, cap), xytext=(6, -14),
                            textcoords="offset points", color="#c50f1f", fontsize=9)
        ax.set_ylim(0, top * 1.12)
        ax.set_xlim(dates[0], dates[-1])
        ax.yaxis.set_major_formatter(
            FuncFormatter(lambda v, _p: format_bytes(int(v)) if v else "0"))
        locator = mdates.AutoDateLocator(maxticks=10)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        ax.set_ylabel("bytes on the share (1 GB = 10⁹ B)")
        ax.set_title(f"Share occupancy: a backup every {i.frequency_hours} h kept "
                     f"{i.retention_days} days, growth {i.growth.describe()}",
                     fontsize=11, loc="left")
        ax.grid(True, color="#e6e6e6", linewidth=0.8)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        ax.legend(loc="lower right", fontsize=8.5, frameon=True, framealpha=0.92)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", metadata={"Software": None})
        return buf.getvalue()
    finally:
        plt.close(fig)


# --- md and html -------------------------------------------------------------------------------

def _context(report: SizingReport) -> dict[str, Any]:
    i = report.inputs
    return {"r": report, "i": i, "title": "Infrastructure Backup share sizing",
            "subtitle": i.env_label if i.env else "custom backup size",
            "inputs": inputs_list(report), "figures": key_figures(report),
            "explanation": " ".join(explanation(report)), "matrix": matrix(report),
            "has_capacity": i.share_capacity_bytes is not None,
            "capacity": format_bytes(i.share_capacity_bytes),
            "end_date": report.end_date, "start_long": long_date(i.start),
            "end_long": long_date(report.end_date)}


def to_markdown(report: SizingReport, chart_name: str | None = None) -> str:
    from ibs.reports.sizing.templates import environment

    return environment(html=False).get_template("report.md").render(
        chart=chart_name, **_context(report))


def to_html(report: SizingReport) -> str:
    from ibs.reports.sizing.templates import environment

    chart = base64.b64encode(chart_png(report)).decode("ascii")
    return environment(html=True).get_template("report.html").render(
        chart_b64=chart, **_context(report))
