"""Units, one definition each, for every package of the project.

A leaf: it imports nothing, so every package may use it, the renderers in reports/ included
(docs/ARCHITECTURE.md). Sizes are decimal, as the service and its documentation count them
(1 GB = 10**9 bytes); durations are in seconds. The simulator's virtual clock counts integer
ticks (simulator/clock.py), a unit of its own.
"""

from __future__ import annotations

import re

KB = 10**3
MB = 10**6
GB = 10**9
TB = 10**12

MINUTE = 60
HOUR = 3600
DAY = 86400


def human_bytes(n: int | None) -> str:
    """A size in the REST model's style: always one decimal, as its availableCapacity
    ("29.6 TB")."""
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} B"


def format_bytes(n: int | None) -> str:
    """A size for reports and messages, as short as it stays exact enough: 280 GB, 1.68 TB,
    500 MB; negative values keep their sign."""
    if n is None:
        return "n/a"
    sign = "-" if n < 0 else ""
    n = abs(n)
    for unit, scale in (("TB", TB), ("GB", GB), ("MB", MB), ("kB", KB)):
        if n >= scale:
            value = n / scale
            digits = 2 if value < 100 else 1 if value < 1000 else 0
            text = f"{value:.{digits}f}"
            if "." in text:
                text = text.rstrip("0").rstrip(".")
            return f"{sign}{text} {unit}"
    return f"{sign}{n} B"


_DURATION_UNITS = (("d", DAY), ("h", HOUR), ("min", MINUTE), ("s", 1))
_ISO_DURATION = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?$")


def human_duration(seconds: float) -> str:
    """A duration for people, in every command's text output: ``0.8 s``, ``42 s``,
    ``13 min 19 s``, ``2 h 5 min``, ``3 d 4 h``: the two largest units, whole numbers from
    10 s up, a tenth of a second below."""
    seconds = max(0.0, seconds)
    if round(seconds, 1) < 10:
        return f"{seconds:.1f}".removesuffix(".0") + " s"
    rest = round(seconds)
    parts: list[tuple[int, str]] = []
    for name, size in _DURATION_UNITS:
        n, rest = divmod(rest, size)
        if n or parts:
            parts.append((n, name))
    first, *second = parts[:2]
    return " ".join(f"{n} {name}" for n, name in [first, *second] if n or (n, name) == first)


def iso_duration_seconds(text: str | None) -> float | None:
    """The seconds of an ISO 8601 duration as the REST model writes them (``PT1H2M3.5S``);
    None for anything else."""
    m = _ISO_DURATION.match(text or "")
    if not m or text == "PT":
        return None
    h, mi, s = m.groups()
    return int(h or 0) * HOUR + int(mi or 0) * MINUTE + float(s or 0)
