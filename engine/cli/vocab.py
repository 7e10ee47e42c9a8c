"""The one option vocabulary's old spellings: hidden aliases that say the new name once.

An old option keeps working (scripts written for it still run) but is left out of ``--help``,
and using it prints one line to stderr, ``ibs: --OLD is now --NEW``, then behaves exactly as
the new option would (README, "Options").
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any


class _Renamed(argparse.Action):
    def __init__(self, option_strings: Sequence[str], dest: str, *, new: str,
                 apply: Callable[[argparse.Namespace, Any], None], **kwargs: Any) -> None:
        super().__init__(option_strings, dest, help=argparse.SUPPRESS,
                         default=argparse.SUPPRESS, **kwargs)
        self.new = new
        self.apply = apply

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        print(f"ibs: {option_string} is now {self.new}", file=sys.stderr)
        self.apply(namespace, values)


def renamed(parser: Any, old: str, new: str, *, dest: str | None = None,
            apply: Callable[[argparse.Namespace, Any], None] | None = None,
            **kwargs: Any) -> None:
    """Accept ``old`` as a hidden alias of ``new``: its value goes to ``new``'s ``dest`` (as
    argparse names it), or ``apply(namespace, value)`` sets what the new options would."""
    target = dest or new.lstrip("-").replace("-", "_")
    parser.add_argument(old, action=_Renamed, new=new,
                        apply=apply or (lambda ns, value: setattr(ns, target, value)), **kwargs)
