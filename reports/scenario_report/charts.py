"""The two per-scenario charts: a timeline of backups and faults, and the share's occupancy.

Both are pure functions of one result dict (as ``ScenarioResult.to_json()`` gives it, or as read
back from JSON): the same result gives the same PNG bytes (no date or software stamp).
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from ibs.engine.units import DAY, GB

#: Fault labels drawn per lane at most; more would only hide each other (and cost seconds).
MAX_LABELS = 200

STATUS_COLOURS = {
    "Succeeded": "#107c10",
    "PartialSucceeded": "#f2a100",
    "Failed": "#c50f1f",
    "Skipped": "#8a8886",
    "Crashed": "#6b0a14",
    "Running": "#0f6cbd",
    "Queued": "#69a1d8",
    "Deleted": "#c8c6c4",
}

# fault lanes: (lane label, colour)
LANES = {
    "firewall": ("firewall", "#d13438"),
    "dns": ("name resolution", "#8764b8"),
    "ercs": ("ERCS VMs", "#ca5010"),
    "maintenance": ("maintenance", "#0f6cbd"),
    "share": ("share space", "#986f0b"),
    "server": ("file server", "#005b70"),
    "operator": ("operator", "#5c2e91"),
    "alerts": ("alerts", "#3c4043"),
}

# one-off events drawn as markers: event -> (lane, marker, short label)
POINTS = {
    "share credentials changed on the server": ("server", "D", "password"),
    "server encryption set": ("server", "D", "encryption"),
    "server dialect limited": ("server", "D", "dialect"),
    "controller failover": ("ercs", ">", "failover"),
    "controller crashed": ("ercs", "X", "crash"),
    "settings changed": ("operator", "o", "settings"),
    "settings refused": ("operator", "x", "refused"),
    "on-demand refused": ("operator", "x", "on-demand refused"),
    "event refused": ("operator", "x", "refused"),
    "backup tampered": ("operator", "*", "tampered"),
    "recovery": ("operator", "P", "recovery"),
}


def parse_time(text: Any) -> dt.datetime | None:
    """An ISO 8601 UTC time as the engine writes it (``...Z``), or None."""
    if not isinstance(text, str) or not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def run_origin(result: dict[str, Any]) -> dt.datetime | None:
    """The wall-clock time of virtual second 0, from the first event with both ``t`` and ``at``."""
    for e in result.get("events") or []:
        at = parse_time(e.get("at"))
        if at is not None and isinstance(e.get("t"), (int, float)):
            return at - dt.timedelta(seconds=float(e["t"]))
    for b in result.get("backups") or []:
        at = parse_time(b.get("createdDateTime"))
        if at is not None and isinstance(b.get("startedAt"), (int, float)):
            return at - dt.timedelta(seconds=float(b["startedAt"]))
    return None


def virtual_seconds(text: Any, origin: dt.datetime | None) -> float | None:
    at = parse_time(text)
    if at is None or origin is None:
        return None
    return (at - origin).total_seconds()


def crashed_ids(result: dict[str, Any]) -> set[str]:
    return {e.get("id") for e in result.get("events") or []
            if e.get("event") == "controller crashed"}


def backup_spans(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Each backup as {start, end, status} in virtual seconds (``end`` None when it never ended)."""
    origin = run_origin(result)
    crashed = crashed_ids(result)
    skipped_at = {e.get("id"): e.get("t") for e in result.get("events") or []
                  if e.get("event") == "backup skipped"}
    spans = []
    for b in result.get("backups") or []:
        start = b.get("startedAt")
        if start is None:
            start = skipped_at.get(b.get("id"))
        if start is None:
            start = virtual_seconds(b.get("createdDateTime"), origin)
        if start is None:
            continue
        status = "Crashed" if b.get("id") in crashed else (b.get("status") or "Failed")
        spans.append({"start": float(start), "end": b.get("finishedAt"), "status": status})
    return spans


def fault_spans(result: dict[str, Any], end: float) -> dict[str, list[tuple[float, float, str]]]:
    """Faults with a beginning and an end, per lane: (start, stop, label).

    A fault still open when the run ends runs to ``end``."""
    lanes: dict[str, list[tuple[float, float, str]]] = {}
    open_: dict[tuple[str, str], tuple[float, str]] = {}

    def begin(lane: str, key: str, t: float, label: str) -> None:
        open_.setdefault((lane, key), (t, label))

    def close(lane: str, key: str, t: float) -> None:
        started = open_.pop((lane, key), None)
        if started is not None:
            lanes.setdefault(lane, []).append((started[0], t, started[1]))

    for e in result.get("events") or []:
        t = e.get("t")
        if not isinstance(t, (int, float)):
            continue
        kind = e.get("event")
        if kind == "firewall rule added":
            begin("firewall", str(e.get("rule")), t, f"{e.get('rule')} ({e.get('action')})")
        elif kind == "firewall rule removed":
            close("firewall", str(e.get("rule")), t)
        elif kind == "name resolution failing":
            begin("dns", str(e.get("host")), t, "DNS failing")
        elif kind == "name resolution restored":
            close("dns", str(e.get("host")), t)
        elif kind == "ercs down":
            begin("ercs", str(e.get("vm")), t, f"{e.get('vm')} down")
        elif kind == "ercs up":
            close("ercs", str(e.get("vm")), t)
        elif kind == "share filled":
            begin("share", "fill", t, "share filled")
        elif kind == "share space freed":
            close("share", "fill", t)
        elif kind == "maintenance window":
            hours = e.get("hours") or 0
            lanes.setdefault("maintenance", []).append(
                (t, t + float(hours) * 3600, f"{e.get('kind', 'update')} window"))
    for (lane, _key), (t, label) in sorted(open_.items(), key=lambda kv: (kv[1][0], kv[0])):
        lanes.setdefault(lane, []).append((t, end, label))
    return lanes


def _pack(spans: list[tuple[float, float, str]]) -> list[tuple[int, tuple[float, float, str]]]:
    """Overlapping spans of one lane on separate tracks (greedy, in start order)."""
    ends: list[float] = []
    out = []
    for span in sorted(spans, key=lambda s: (s[0], s[1], s[2])):
        k = next((i for i, e in enumerate(ends) if e <= span[0]), len(ends))
        if k == len(ends):
            ends.append(span[1])
        else:
            ends[k] = span[1]
        out.append((k, span))
    return out


def point_events(result: dict[str, Any]) -> dict[str, list[tuple[float, str, str]]]:
    lanes: dict[str, list[tuple[float, str, str]]] = {}
    for e in result.get("events") or []:
        t = e.get("t")
        if isinstance(t, (int, float)) and e.get("event") in POINTS:
            lane, marker, label = POINTS[e["event"]]
            lanes.setdefault(lane, []).append((float(t), marker, label))
    return lanes


def alert_marks(result: dict[str, Any]) -> tuple[list[float], list[float]]:
    origin = run_origin(result)
    raised, cleared = [], []
    for a in (result.get("summary") or {}).get("alerts") or []:
        r = virtual_seconds(a.get("raisedDateTime"), origin)
        c = virtual_seconds(a.get("clearedDateTime"), origin)
        if r is not None:
            raised.append(r)
        if c is not None:
            cleared.append(c)
    return raised, cleared


def run_end(result: dict[str, Any]) -> float:
    days = result.get("days") or 0
    end = float(days) * DAY
    for b in result.get("backups") or []:
        for k in ("startedAt", "finishedAt"):
            if isinstance(b.get(k), (int, float)):
                end = max(end, float(b[k]))
    return end or DAY


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _style(ax, end_days: float) -> None:
    ax.set_xlim(0, end_days)
    ax.grid(True, axis="x", color="#e6e6e6", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=8)
    ax.set_xlabel("virtual day of the run", fontsize=8, color="#5f6368")


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def timeline_png(result: dict[str, Any], dpi: int = 100) -> bytes:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    plt = _pyplot()
    end = run_end(result)
    end_days = end / DAY
    spans = backup_spans(result)
    faults = fault_spans(result, end)
    points = point_events(result)
    raised, cleared = alert_marks(result)
    lane_keys = [k for k in LANES if k != "alerts" and (k in faults or k in points)]
    if raised or cleared:
        lane_keys.append("alerts")
    rows = ["backups", *lane_keys]
    y = {k: len(rows) - 1 - i for i, k in enumerate(rows)}
    height = max(1.6, min(3.4, 0.9 + 0.36 * len(rows)))
    fig, ax = plt.subplots(figsize=(9, height), dpi=dpi)
    try:
        minimum = end_days * 0.004
        seen: list[str] = []
        # One artist per look, not per bar: a run with thousands of events draws in seconds.
        bars: dict[tuple[str, str, str | None], list[tuple[float, float]]] = {}
        for s in spans:
            a = s["start"] / DAY
            b = (s["end"] if isinstance(s["end"], (int, float)) else s["start"]) / DAY
            colour = STATUS_COLOURS.get(s["status"], "#605e5c")
            look = (colour, "white" if b - a > minimum else colour,
                    "////" if s["status"] == "Crashed" else None)
            bars.setdefault(look, []).append((a, max(b - a, minimum)))
            if s["status"] not in seen:
                seen.append(s["status"])
        for (colour, edge, hatch), ranges in bars.items():
            ax.broken_barh(ranges, (y["backups"] - 0.32, 0.64), facecolors=colour,
                           edgecolor=edge, linewidth=0.4, hatch=hatch)
        for lane in lane_keys:
            if lane == "alerts":
                continue
            colour = LANES[lane][1]
            packed = _pack(faults.get(lane, []))
            tracks = max((k for k, _ in packed), default=0) + 1
            h = 0.64 / tracks
            labelled = len(packed) <= MAX_LABELS  # beyond that, labels only hide each other
            boxes: dict[tuple[int, bool], list[tuple[float, float]]] = {}
            shades: list[tuple[float, float]] = []
            for k, (a, b, label) in packed:
                low = y[lane] + 0.32 - (k + 1) * h
                soft = label.endswith("(allow)")
                boxes.setdefault((k, soft), []).append((a / DAY, max((b - a) / DAY, minimum)))
                if not soft:
                    shades.append((a / DAY, max((b - a) / DAY, minimum)))
                if labelled:
                    ax.text(a / DAY + end_days * 0.006, low + h / 2, label,
                            fontsize=7 if tracks < 3 else 6, va="center", color=colour,
                            clip_on=True)
            for (k, soft), ranges in boxes.items():
                low = y[lane] + 0.32 - (k + 1) * h
                ax.broken_barh(ranges, (low + 0.03, h - 0.06), facecolors=colour,
                               alpha=0.12 if soft else 0.28, edgecolor=colour, linewidth=0.8,
                               linestyle="--" if soft else "-")
            if shades:
                # The whole height of the chart (its y limits are set below).
                ax.broken_barh(shades, (-0.6, len(rows)), facecolors=colour, alpha=0.05,
                               linewidth=0)
            by_marker: dict[str, list[float]] = {}
            for t, marker, _label in points.get(lane, []):
                by_marker.setdefault(marker, []).append(t / DAY)
            for marker, times in by_marker.items():
                ax.plot(times, [y[lane]] * len(times), marker=marker, color=colour, markersize=6,
                        linestyle="none", markeredgecolor="white", markeredgewidth=0.5)
        if "alerts" in y:
            ax.plot([t / DAY for t in raised], [y["alerts"]] * len(raised), marker="v",
                    color="#c50f1f", markersize=8, linestyle="none")
            ax.plot([t / DAY for t in cleared], [y["alerts"]] * len(cleared), marker="^",
                    color="#107c10", markersize=8, linestyle="none")
            for t in raised:
                ax.axvline(t / DAY, color="#c50f1f", linewidth=0.7, linestyle=":", alpha=0.7)
            for t in cleared:
                ax.axvline(t / DAY, color="#107c10", linewidth=0.7, linestyle=":", alpha=0.7)
        ax.set_yticks([y[k] for k in rows])
        ax.set_yticklabels(["backups", *[LANES[k][0] for k in lane_keys]], fontsize=8)
        ax.set_ylim(-0.6, len(rows) - 0.4)
        _style(ax, end_days)
        handles = [Patch(facecolor=STATUS_COLOURS.get(s, "#605e5c"), label=s,
                         hatch="////" if s == "Crashed" else None) for s in seen]
        if raised:
            handles.append(Line2D([], [], marker="v", color="#c50f1f", linestyle="none",
                                  label="alert raised"))
        if cleared:
            handles.append(Line2D([], [], marker="^", color="#107c10", linestyle="none",
                                  label="alert cleared"))
        if handles:
            ax.legend(handles=handles, loc="lower right", bbox_to_anchor=(1.0, 1.0),
                      ncol=len(handles), fontsize=7.5, frameon=False, borderaxespad=0.2,
                      handlelength=1.2, columnspacing=1.2)
        ax.set_title("Backups and faults", fontsize=9.5, loc="left", color="#1b1b1f")
        fig.tight_layout()
        return _png(fig)
    finally:
        plt.close(fig)


def occupancy_points(result: dict[str, Any]) -> list[tuple[float, float]]:
    pts = []
    for item in result.get("occupancy") or []:
        try:
            t, used = item[0], item[1]
        except (TypeError, IndexError, KeyError):
            continue
        pts.append((float(t), float(used)))
    return pts


def show_capacity(result: dict[str, Any]) -> bool:
    summary = result.get("summary") or {}
    cap, budget = summary.get("shareCapacityBytes"), summary.get("budgetBytes")
    if not cap:
        return False
    ref = max(budget or 0, summary.get("sharePeakBytes") or 0)
    return ref > 0 and cap <= 2 * ref


def occupancy_png(result: dict[str, Any], dpi: int = 100) -> bytes:
    from matplotlib.ticker import FuncFormatter

    plt = _pyplot()
    summary = result.get("summary") or {}
    end = run_end(result)
    end_days = end / DAY
    pts = occupancy_points(result)
    if not pts or pts[-1][0] < end:
        pts.append((end, pts[-1][1] if pts else 0.0))
    xs = [t / DAY for t, _ in pts]
    ys = [b / GB for _, b in pts]
    fig, ax = plt.subplots(figsize=(9, 2.4), dpi=dpi)
    try:
        ax.fill_between(xs, ys, step="post", color="#0f6cbd", alpha=0.16, linewidth=0)
        ax.step(xs, ys, where="post", color="#0f6cbd", linewidth=1.5, label="on the share")
        top = max(ys) if ys else 0
        budget = summary.get("budgetBytes")
        if budget:
            ax.axhline(budget / GB, color="#3c4043", linestyle=(0, (5, 3)), linewidth=1.2,
                       label=f"budget {budget / GB:,.1f} GB")
            top = max(top, budget / GB)
        if show_capacity(result):
            cap = summary["shareCapacityBytes"] / GB
            ax.axhline(cap, color="#c50f1f", linewidth=1.6, label=f"capacity {cap:,.1f} GB")
            top = max(top, cap)
        peak = summary.get("sharePeakBytes")
        if peak:
            ax.axhline(peak / GB, color="#e3008c", linewidth=0.8, alpha=0.7,
                       label=f"peak {peak / GB:,.1f} GB")
        ax.set_ylim(0, (top or 1) * 1.08)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:,.0f}" if v else "0"))
        ax.set_ylabel("GB (10⁹ B)", fontsize=8, color="#5f6368")
        ax.grid(True, axis="y", color="#e6e6e6", linewidth=0.8)
        _style(ax, end_days)
        ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), fontsize=7.5, frameon=False,
                  ncol=4, borderaxespad=0.2, handlelength=1.6, columnspacing=1.2)
        ax.set_title("Share occupancy", fontsize=9.5, loc="left", color="#1b1b1f")
        fig.tight_layout()
        return _png(fig)
    finally:
        plt.close(fig)
