"""The ``ibs`` command line."""

from ibs.engine.cli.app import main

__all__ = ["main"]
