"""Every shell block of README.md and docs/*.md runs as written, each in a scratch folder, with
the installed ``ibs`` on PATH (as after ``. .venv/bin/activate``); a block marked parse-only has
each of its ``ibs`` commands accepted by ibs's own parser. So the docs cannot drift from the
program (issue 17)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from shutil import which

import pytest

from tests.docs.markdown import MODES, Block, ibs_commands, shell_blocks

BLOCKS = shell_blocks()
BIN = Path(sys.executable).parent


def _id(block: Block) -> str:
    return block.where


def test_every_marker_is_known_and_says_why() -> None:
    bad = [f"{b.where}: {b.mode!r}" for b in BLOCKS
           if b.mode not in MODES or (b.mode != "run" and not b.why)]
    assert not bad, ("a docs-test marker is 'parse-only; why' or 'skip; why': " + ", ".join(bad))


def test_the_docs_have_runnable_blocks() -> None:
    # A harness that found nothing to run would pass whatever the docs say.
    assert sum(b.mode == "run" for b in BLOCKS) >= 3
    assert any(b.path.name == "RP.md" and b.mode == "needs" for b in BLOCKS)


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.mode in ("run", "needs")], ids=_id)
def test_block_runs(block: Block, tmp_path: Path) -> None:
    missing = [tool for tool in block.why.split() if block.mode == "needs" and not which(tool)]
    if missing:
        # The README's test command installs every tool a block needs and sets
        # IBS_REQUIRE_SAMBA=1: there (CI) a missing tool is a failure, never a skip.
        if os.environ.get("IBS_REQUIRE_SAMBA") == "1":
            pytest.fail(f"{block.where} needs {', '.join(missing)}, not installed")
        pytest.skip(f"{block.where} needs {', '.join(missing)}, not installed")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
           "IBS_STORE": str(tmp_path / ".ibs-store"), "XDG_STATE_HOME": str(tmp_path / ".state"),
           "HOME": str(tmp_path)}
    for name in ("IBS_RP_TOKEN", "IBS_PFX_PASSWORD", "IBS_SHARE_PASSWORD"):
        env.pop(name, None)
    # Whatever happens, a server the block started in the background stops with it.
    script = "trap 'rc=$?; kill $(jobs -p) 2>/dev/null || true; exit $rc' EXIT\n" + block.text
    proc = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=240, check=False)
    assert proc.returncode == 0, (f"{block.where} exited {proc.returncode}\n"
                                  f"--- stdout\n{proc.stdout[-3000:]}\n--- stderr\n{proc.stderr[-3000:]}")


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.mode == "parse-only"], ids=_id)
def test_parse_only_block_parses(block: Block, capsys: pytest.CaptureFixture[str]) -> None:
    from ibs.engine.cli.app import build_parser

    commands = ibs_commands(block.text)
    assert commands, f"{block.where}: no ibs command to parse; mark it 'skip' instead"
    for argv in commands:
        try:
            build_parser(argv).parse_args(argv)
        except SystemExit as exc:
            if exc.code in (0, None):  # --help
                continue
            pytest.fail(f"{block.where}: ibs {' '.join(argv)}: exit {exc.code}: "
                        f"{capsys.readouterr().err.strip()}")
