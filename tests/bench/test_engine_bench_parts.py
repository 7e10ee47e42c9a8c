"""Pieces of ``ibs bench engine`` checked on their own: the small-files tree and the peak-RSS
measurement of a child, and what a round's progress line reports."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ibs.scenarios.bench.common import same_tree, small_files_tree
from ibs.scenarios.bench.rounds import gnu_time, measured


@settings(max_examples=15, deadline=None)
@given(count=st.integers(1, 450))
def test_small_files_tree_shape(tmp_path_factory: pytest.TempPathFactory, count: int) -> None:
    root = tmp_path_factory.mktemp("small")
    total = small_files_tree(root, count)
    folders = sorted(root.iterdir())
    assert len(folders) == max(1, count // 100)
    sizes = [f.stat().st_size for d in folders for f in d.iterdir()]
    assert len(sizes) == count and sum(sizes) == total
    assert all(1024 <= s <= 4096 for s in sizes)


def test_same_tree_sees_one_changed_byte(tmp_path: Path) -> None:
    small_files_tree(tmp_path / "a", 150)
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    assert same_tree(tmp_path / "a", tmp_path / "b")
    victim = next((tmp_path / "b" / "d00000").iterdir())
    data = bytearray(victim.read_bytes())
    data[-1] ^= 1
    victim.write_bytes(bytes(data))
    assert not same_tree(tmp_path / "a", tmp_path / "b")


@pytest.mark.skipif(gnu_time() is None, reason="needs GNU time (Debian package time)")
def test_child_peak_rss_is_not_the_parents() -> None:
    """A small child of a big parent reports its own peak, not the parent's (os.wait4 would)."""
    ballast = bytearray(300 * 1024 * 1024)
    for i in range(0, len(ballast), 4096):
        ballast[i] = 1
    _wall, small, _out, _cpu = measured([sys.executable, "-c", "pass"], dict(os.environ), "small")
    code = "b = bytearray(200 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096])"
    _wall, big, _out, _cpu = measured([sys.executable, "-c", code], dict(os.environ), "big")
    del ballast
    assert small < 100, small
    assert big > small + 150, (small, big)


def test_a_round_line_gives_the_figure_the_report_uses() -> None:
    """A round that also does untimed work (reading the share, comparing trees, removing the
    restore) prints the seconds it measured, which the report's median is made of, beside the
    whole step's."""
    import io
    import re

    from rich.console import Console

    from ibs.scenarios.bench.common import Steps
    from ibs.scenarios.bench.rounds import interleaved

    out = io.StringIO()

    def restore(tag: str) -> float:
        return 1.25  # what a round measured, whatever else it did

    times = interleaved(Steps(Console(file=out, width=200)), {"engine restore + sync": restore},
                        rounds=2)
    assert times == {"engine restore + sync": [1.25, 1.25]}
    lines = out.getvalue().splitlines()
    assert len(lines) == 3
    for line in lines:
        measured, whole = line.split(": ", 1)[1].split("; ")
        assert measured == "1.25 s measured"
        assert re.fullmatch(r"with untimed setup and checks \d+\.\d\d s", whole), line
