"""Values as people read them, in one style for every command's text output: durations like
``13 min 19 s`` (``units.human_duration``), times like ``2026-03-01 08:00:00 UTC``, yes/no and
``-`` instead of Python's ``True`` and ``None``. Machine output (``--json``) keeps the REST API's values untouched."""

from __future__ import annotations

import datetime as dt

from ibs.engine.units import human_duration, iso_duration_seconds


def iso_duration_text(text: str | None) -> str:
    """An ISO duration from a record, as ``units.human_duration`` shows it (``-`` for none)."""
    seconds = iso_duration_seconds(text)
    return "-" if seconds is None else human_duration(seconds)


def when(value: str | dt.datetime | None) -> str:
    """A point in time as ``2026-03-01 08:00:00 UTC`` (``-`` for none); the REST model's strings
    (``2026-03-01T08:00:00.000000Z``) and aware datetimes alike."""
    if value is None or value == "":
        return "-"
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


def plain(value: object) -> str:
    """A setting or field for a table: yes/no for booleans, ``-`` for none, lists joined."""
    if value is None or value == "" or value == [] or value == {}:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(plain(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {plain(v)}" for k, v in value.items())
    return str(value)
