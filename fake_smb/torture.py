"""smbtorture as a subprocess: list a suite's tests, run one test, read its outcome.

smbtorture (Debian package ``samba-testsuite``) runs the tests named on its command line and
prints, per test, ``test: NAME`` then one of ``success: NAME``, ``failure: NAME [``, ``error:
NAME [`` or ``skip: NAME [`` (a bracketed reason follows on the next lines). Its exit code is
not enough on its own: a skipped test exits 0, and a test it cannot even start ("Unknown
torture operation", a refused connection) prints no result line at all. Some tests hang
against an incomplete server, so every run has a bound; a run that reaches it is a timeout.

The parsing is a pure function of the captured output (``parse_output``) so that it can be
tested on recorded transcripts.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass

OUTCOMES = ("pass", "fail", "error", "skip", "timeout")
SMBTORTURE = "/usr/bin/smbtorture"

# Result keywords of smbtorture's "simple" format (and the subunit ones it may fall back to).
_RESULT = re.compile(
    r"^(success|successful|failure|fail|error|skip|xfail|uxsuccess)(?:-testsuite)?:\s*(.*?)\s*(\[)?\s*$"
)
_STATUS = {
    "success": "pass", "successful": "pass", "xfail": "pass",
    "failure": "fail", "fail": "fail", "uxsuccess": "fail",
    "error": "error", "skip": "skip",
}
# When one invocation prints several results, the worst one is the test's outcome.
_RANK = {"error": 3, "fail": 2, "pass": 1, "skip": 0}
_DETAIL_MAX = 200


class TortureError(Exception):
    """smbtorture is missing, or a suite or test name is unknown (bad input, exit code 2)."""


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """One test's result against one server: a status from OUTCOMES and a one-line detail."""

    status: str
    detail: str = ""
    seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.status not in OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, not {self.status!r}")


def _short(text: str) -> str:
    text = re.sub(r"^(\.\./)+source4/torture/", "", text.strip())
    return text if len(text) <= _DETAIL_MAX else text[: _DETAIL_MAX - 3] + "..."


def parse_output(text: str, returncode: int | None, seconds: float = 0.0) -> Outcome:
    """The outcome of one smbtorture invocation; ``returncode`` None means it hit its bound."""
    lines = text.splitlines()
    if returncode is None:
        started = [ln[len("test: "):] for ln in lines if ln.startswith("test: ")]
        where = f" (in {started[-1]})" if started else ""
        return Outcome(status="timeout", detail=f"no result before the time limit{where}",
                       seconds=seconds)
    worst: tuple[str, str] | None = None
    for i, line in enumerate(lines):
        match = _RESULT.match(line)
        if not match:
            continue
        status = _STATUS[match.group(1)]
        detail = ""
        if match.group(3):  # a bracketed reason: the first non-empty line inside it
            for inner in lines[i + 1:]:
                if inner.strip() == "]":
                    break
                if inner.strip():
                    detail = _short(inner)
                    break
        if worst is None or _RANK[status] > _RANK[worst[0]]:
            worst = (status, detail)
    if worst is not None:
        return Outcome(status=worst[0], detail=worst[1], seconds=seconds)
    # No result line: smbtorture could not run the test (bad name, no connection, crash).
    last = next((ln for ln in reversed(lines) if ln.strip() and not ln.startswith("time: ")), "")
    reason = _short(last) or "no output"
    return Outcome(status="error", detail=f"no result line (exit {returncode}): {reason}",
                   seconds=seconds)


def find_smbtorture() -> str:
    found = shutil.which("smbtorture") or (SMBTORTURE if os.path.exists(SMBTORTURE) else None)
    if found is None:
        raise TortureError("smbtorture not found: install the Debian package samba-testsuite")
    return found


def runnable_name(listed: str) -> str:
    """``--list`` prints suite.case.test; a case of one test is run by the case's name.

    ``smb2.lock.rw-none.rw-none`` -> ``smb2.lock.rw-none``; ``smb2.maxfid.maxfid`` ->
    ``smb2.maxfid``.
    """
    parts = listed.split(".")
    if len(parts) >= 3 and parts[-1] == parts[-2]:
        return ".".join(parts[:-1])
    return listed


def parse_listing(text: str, name: str) -> list[str]:
    """The runnable tests in ``--list NAME`` output that are ``name`` itself or lie under it.

    smbtorture lists by prefix, so ``smb2.session`` also brings ``smb2.session-require-signing``;
    those belong to another suite and are left out.
    """
    tests = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("smbtorture "):
            continue
        test = runnable_name(line)
        if test == name or test.startswith(name + "."):
            tests.append(test)
    return tests


def list_tests(name: str, smbtorture: str | None = None) -> list[str]:
    """The tests of a suite (or the one test) called ``name``; TortureError when there are none."""
    exe = smbtorture or find_smbtorture()
    proc = subprocess.run([exe, "--list", name], check=False, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)
    tests = parse_listing(proc.stdout, name)
    if not tests:
        raise TortureError(f"smbtorture knows no suite or test named {name!r} "
                           "(see 'smbtorture --list-suites')")
    return tests


def run_test(test: str, *, port: int, user: str, password: str, share_name: str = "backup",
             timeout: float = 60.0, cwd: str | None = None,
             smbtorture: str | None = None) -> tuple[Outcome, str]:
    """Run one test against 127.0.0.1:port; returns its outcome and the captured output.

    The password goes through the environment (PASSWD), never the command line. smbtorture
    runs in its own process group, killed by its PID when the bound is reached.
    """
    exe = smbtorture or find_smbtorture()
    argv = [exe, f"//127.0.0.1/{share_name}", "-p", str(port), "-U", user, test]
    env = {**os.environ, "PASSWD": password}
    started = time.monotonic()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=env, cwd=cwd, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
        returncode: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, _ = proc.communicate()
        returncode = None
    text = out.decode("utf-8", errors="replace")
    seconds = round(time.monotonic() - started, 2)
    return parse_output(text, returncode, seconds), text
