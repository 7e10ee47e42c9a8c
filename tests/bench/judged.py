"""A benchmark target's verdict must follow from its own figure and bound: PASS exactly when the
measured value meets the bound written beside it. Checking ``passed in (True, False)`` cannot
fail; this can, when a verdict is computed against another figure or the bound is misprinted."""

from __future__ import annotations

import re

_BOUND = re.compile(r"(>=|<=|<|>) (\d+(?:\.\d+)?(?:e[+-]?\d+)?) ?(x|MB/s|MB|s)")
_MEETS = {">=": float.__ge__, "<=": float.__le__, "<": float.__lt__, ">": float.__gt__}


def assert_judged(target: dict) -> None:
    """``target`` (a report's JSON target) was measured, and its verdict is its value vs bound."""
    assert target["value"] is not None, f"{target['name']} was not measured: {target['detail']}"
    m = _BOUND.fullmatch(target["target"])
    assert m, f"{target['name']}: unreadable bound {target['target']!r}"
    op, bound, unit = m.group(1), float(m.group(2)), m.group(3)
    assert unit == target["unit"], (target["name"], unit, target["unit"])
    assert target["passed"] is _MEETS[op](float(target["value"]), bound), target
