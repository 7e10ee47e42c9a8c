"""``-q/--quiet`` and ``-v/--verbose``: one meaning in every command whose output is long.

Quiet keeps what a person must act on (failures, verdicts, the summary) and drops the lines
that only show progress; verbose adds what the command does as it goes. The two exclude each
other (README, "Option names").
"""

from __future__ import annotations

import argparse
from typing import Any

QUIET, NORMAL, VERBOSE = -1, 0, 1


def add_verbosity(parser: Any, *, quiet: str, verbose: str) -> None:
    """``-q`` and ``-v`` on ``parser``, in a mutually exclusive group; ``quiet`` and
    ``verbose`` say what each keeps or adds for this command."""
    group = parser.add_mutually_exclusive_group()
    # default None, not NORMAL: "no option given" needs no default in the help text.
    group.add_argument("-q", "--quiet", dest="verbosity", action="store_const", const=QUIET,
                       help=f"print less: {quiet}")
    group.add_argument("-v", "--verbose", dest="verbosity", action="store_const", const=VERBOSE,
                       help=f"print more: {verbose}")


def level(args: argparse.Namespace) -> int:
    """QUIET, NORMAL or VERBOSE, from the options ``add_verbosity`` added."""
    return getattr(args, "verbosity", None) or NORMAL
