"""``ibs sizing --check``: the sizing model's answer and the simulation's, side by side."""

from __future__ import annotations

import sys

from ibs.simulator.sizing import SizingInputs, format_bytes


def run_check(inputs: SizingInputs) -> int:
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from ibs.simulator.crosscheck import cross_check

    err = Console(stderr=True)
    if err.is_terminal:
        with Progress(console=err, transient=True) as progress:
            task = progress.add_task("simulating", total=None)
            result = cross_check(inputs, on_day=lambda done, total: progress.update(
                task, completed=done, total=total, description=f"simulating day {done}/{total}"))
    else:
        result = cross_check(inputs)
    out = Console(highlight=False, soft_wrap=True)
    out.print(f"Share of {format_bytes(result.capacity_bytes)}"
              + (f" ({format_bytes(inputs.share_used_bytes)} used by other data)"
                 if inputs.share_used_bytes else "")
              + f", every {inputs.frequency_hours} h kept {inputs.retention_days} days, "
              f"{result.days} days from {inputs.start.isoformat()}:")
    table = Table(show_edge=False, header_style="bold")
    for column in ("", "sizing", "simulation"):
        table.add_column(column, justify="right" if column else "left")
    s, m = result.sizing, result.simulation
    table.add_row("peak", format_bytes(s.peak_bytes), format_bytes(m.peak_bytes))
    table.add_row("peak (bytes)", f"{s.peak_bytes:,}", f"{m.peak_bytes:,}")
    table.add_row("backups kept", str(s.backups_kept), str(m.backups_kept))
    table.add_row("runs out", str(s.runs_out_on or "never"), str(m.runs_out_on or "never"))
    out.print(table)
    if result.agree:
        out.print("agree: the simulated share behaves as sized")
        return 0
    for line in result.disagreements:
        print(f"DISAGREE: {line}", file=sys.stderr)
    return 1
