"""Old option spellings of ``ibs fake-smb``: hidden, working, and saying the new name once.

The same one-line notice as every renamed ``ibs`` option (engine/cli/vocab.py), kept here
because fake_smb imports nothing of the project outside itself.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any


def renamed(parser: argparse.ArgumentParser, old: str, new: str, *, dest: str,
            convert: Callable[[Any], Any] | None = None, **kwargs: Any) -> None:
    """Accept ``old`` as a hidden alias of ``new``: its value (``type`` applied) goes to
    ``dest`` unchanged, or through ``convert`` when the new option counts in other units."""

    class Renamed(argparse.Action):
        def __call__(self, parser, namespace, values, option_string=None):
            print(f"ibs: {option_string} is now {new}", file=sys.stderr)
            setattr(namespace, self.dest, convert(values) if convert else values)

    parser.add_argument(old, action=Renamed, dest=dest, help=argparse.SUPPRESS,
                        default=argparse.SUPPRESS, **kwargs)
