"""The ``ibs`` command line."""

from engine.cli.app import main

__all__ = ["main"]
