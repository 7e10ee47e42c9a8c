"""Old option spellings kept as hidden aliases of the new ones (issue 17's one vocabulary).

An alias is left out of ``--help``, says once on stderr which option replaced it, and then
behaves as the new option: scripts written for the old names keep working, and say so.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any


class _Renamed(argparse.Action):
    def __init__(self, option_strings: list[str], dest: str, new: str = "",
                 convert: Callable[[Any], Any] | None = None, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, **kwargs)
        self.new = new
        self.convert = convert

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        print(f"ibs: {option_string} is now {self.new}", file=sys.stderr)
        setattr(namespace, self.dest, self.convert(values) if self.convert else values)


def add_renamed(parser: argparse.ArgumentParser, old: str, new: str, *, dest: str,
                convert: Callable[[Any], Any] | None = None, **kwargs: Any) -> None:
    """Accept ``old`` as a hidden alias of ``new`` (whose value lands in ``dest``); ``convert``
    turns an old-style value into a new-style one (``--nodes 1`` into ``asdk``)."""
    parser.add_argument(old, dest=dest, action=_Renamed, new=new, convert=convert,
                        help=argparse.SUPPRESS, **kwargs)
