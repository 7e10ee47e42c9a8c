"""`fake-smb serve` as a process: start line, serving, SIGTERM/SIGINT, bad input."""

from __future__ import annotations

import argparse
import re
import signal
import subprocess
import sys
import time

import pytest

from ibs.fake_smb import cli
from tests.fake_smb.conftest import PASSWORD, USER, Clients

RUN = [sys.executable, "-m", "ibs.fake_smb.cli", "serve"]


def _start(share, *extra, password_file=None, stdin_text=None):
    args = [*RUN, "--port", "0", "--share", str(share), "--user", USER,
            "--password-file", password_file or "-", *extra]
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if stdin_text is not None:
        proc.stdin.write(stdin_text)
        proc.stdin.flush()
    line = proc.stdout.readline()
    match = re.fullmatch(r"fake_smb listening on 127\.0\.0\.1:(\d+) share \\\\127\.0\.0\.1\\(\S+)\n", line)
    assert match, (line, proc.stderr.read() if proc.poll() is not None else "")
    return proc, int(match.group(1)), match.group(2)


class _Addr:
    host = "127.0.0.1"

    def __init__(self, port: int, name: str) -> None:
        self.port, self.share_name = port, name
        self.unc = f"\\\\127.0.0.1\\{name}"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_and_stop_on_signal(share, sig):
    proc, port, name = _start(share, "--share-name", "data", "--encryption", "required", stdin_text=PASSWORD + "\n")
    try:
        assert name == "data"
        clients = Clients(_Addr(port, name))
        client = clients.login()
        assert client.session.encrypt_data
        clients.close()
    finally:
        started = time.monotonic()
        proc.send_signal(sig)
        assert proc.wait(5) == 0
        assert time.monotonic() - started < 2


def test_password_file_and_dialect_window(share, tmp_path):
    pw = tmp_path / "pw"
    pw.write_text(PASSWORD + "\n")
    proc, port, name = _start(share, "--max-dialect", "2.1", "--quota-bytes", "1000", password_file=str(pw))
    try:
        assert name == "backup"
        clients = Clients(_Addr(port, name))
        assert clients.login().connection.dialect == 0x0210
        clients.close()
    finally:
        proc.terminate()
        proc.wait(5)


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--share", "/nonexistent/dir"], "does not exist"),
        (["--max-dialect", "9.9"], "invalid choice"),
        (["--min-dialect", "3.1.1", "--max-dialect", "3.0"], "above"),
        (["--quota-bytes", "-5"], "negative"),
    ],
)
def test_bad_input_exits_2_with_one_line(share, tmp_path, extra, message):
    pw = tmp_path / "pw"
    pw.write_text("x\n")
    args = [*RUN, "--port", "0", "--share", str(share), "--user", "u", "--password-file", str(pw), *extra]
    result = subprocess.run(args, capture_output=True, text=True, timeout=20, check=False)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_empty_password_file(share, tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("")
    result = subprocess.run([*RUN, "--port", "0", "--share", str(share), "--user", "u", "--password-file", str(pw)],
                            capture_output=True, text=True, timeout=20, check=False)
    assert result.returncode == 2 and "empty" in result.stderr and len(result.stderr.splitlines()) == 1


def test_register_adds_the_command():
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["fake-smb", "serve", "--port", "0", "--share", ".", "--user", "u", "--password-file", "-"])
    assert args.func is cli.serve_command and args.share_name == "backup" and args.encryption == "desired"
