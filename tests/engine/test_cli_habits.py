"""Issue 17, the command line a newcomer meets: --version, help with defaults, --store on either
side of the command, id prefixes, ``backup ls``, secrets at a terminal, one output style."""

from __future__ import annotations

import argparse
import json
import os
import pty
import re
import select
import signal
import subprocess
import time
from importlib.metadata import version

import pytest

from ibs.engine.cli.app import HelpFormatter, build_parser
from tests.engine.conftest import make_tree
from tests.engine.test_cli import IBS, ibs

# The commands this side of issue 17 owns: every option of each has help text and its default.
OWNED = [("cert", "new"), ("config", "set"), ("config", "show"), ("backup", "start"),
         ("backup", "list"), ("backup", "show"), ("backup", "ls"), ("backup", "verify"),
         ("backup", "restore"), ("backup", "prune"), ("alerts",), ("daemon",), ("serve-rp",),
         ("simulate",), ("sizing",), ("fake-smb", "serve")]
# The commands that use the store: --store is accepted after them as well as before.
WITH_STORE = [c for c in OWNED if c[0] in ("config", "backup", "alerts", "daemon", "serve-rp")]


def subparser(path: tuple[str, ...]) -> argparse.ArgumentParser:
    parser = build_parser(list(path))
    for word in path:
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = action.choices[word]
    return parser


def test_version_is_the_installed_packages():
    r = subprocess.run([IBS, "--version"], capture_output=True, text=True, check=False)
    assert r.returncode == 0 and r.stdout == f"ibs {version('ibs-simulator')}\n"


@pytest.mark.parametrize("path", OWNED, ids=" ".join)
def test_every_option_has_help_and_shows_its_default(path):
    parser = subparser(path)
    formatter = HelpFormatter(parser.prog)
    for action in parser._actions:
        if not action.option_strings or action.help == argparse.SUPPRESS:
            continue
        text = formatter._expand_help(action)
        assert text.strip(), f"{'/'.join(action.option_strings)} has no help text"
        if action.default not in (None, False, argparse.SUPPRESS, []):
            assert "default" in text and str(action.default) in text, (
                f"{action.option_strings[0]}: default {action.default!r} not shown in {text!r}")
    assert parser.description, f"'ibs {' '.join(path)}' has no description"


def test_help_says_what_a_newcomer_looks_for():
    assert "SIGTERM" in subparser(("daemon",)).format_help()
    rp = " ".join(subparser(("serve-rp",)).format_help().split())
    assert "token" in rp and "rp-token.json" in "".join(rp.split()) and "IBS_RP_TOKEN" in rp
    start = " ".join(subparser(("backup", "start")).format_help().split())
    assert "3 another backup job is running" in start and "4 PartialSucceeded" in start


@pytest.mark.parametrize("path", WITH_STORE, ids=" ".join)
def test_store_is_accepted_before_or_after_the_command(path, tmp_path):
    needs = {"show": ["x"], "ls": ["x", "--decryption-cert", "p"],
             "verify": ["x", "--decryption-cert", "p"],
             "restore": ["x", "--decryption-cert", "p", "--target", "t"]}.get(path[-1], [])
    if path[0] != "backup":
        needs = []
    for argv in (["--store", "A", *path, *needs], [*path, *needs, "--store", "A"],
                 ["--store", "B", *path, *needs, "--store", "A"]):
        assert build_parser(argv).parse_args(argv).store == "A", argv
    assert build_parser(list(path)).parse_args([*path, *needs]).store is None


def test_config_show_with_store_after_the_command(tmp_path):
    store = tmp_path / "st"
    r = subprocess.run([IBS, "config", "show", "--json", "--store", str(store)],
                       capture_output=True, text=True, check=False,
                       env={k: v for k, v in os.environ.items() if k != "IBS_STORE"})
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["store"] == str(store)


# --- a backup to look at --------------------------------------------------------------------


@pytest.fixture
def backed_up(tmp_path, cert_pair):
    cer, pfx, pw = cert_pair.write(tmp_path)
    share = tmp_path / "share"
    share.mkdir()
    src = make_tree(tmp_path / "src" / "CA", {"db/a.txt": b"alpha\n" * 999, "run.sh": b"#!/bin/sh\n"})
    os.chmod(src / "run.sh", 0o750)
    os.symlink("db/a.txt", src / "link")
    make_tree(tmp_path / "src" / "NRP", {"n.bin": b"\0" * 12})
    store = tmp_path / "store"
    r = ibs(store, "config", "set", "--path", str(share), "--encryption-cert", str(cer),
            "--source", f"CA={src}", "--source", f"NRP={tmp_path / 'src' / 'NRP'}")
    assert r.returncode == 0, r.stderr
    r = ibs(store, "backup", "start", "--json")
    assert r.returncode == 0, r.stderr
    return store, json.loads(r.stdout)["id"], pfx, pw


def test_an_id_prefix_is_taken_where_an_id_is(backed_up, tmp_path):
    store, backup_id, pfx, pw = backed_up
    prefix = backup_id[:8]
    shown = json.loads(ibs(store, "backup", "show", prefix, "--json").stdout)
    assert shown["id"] == backup_id
    key = ["--decryption-cert", str(pfx), "--decryption-cert-password-file", str(pw)]
    r = ibs(store, "backup", "verify", prefix.upper(), *key, "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["id"] == backup_id, r.stderr
    r = ibs(store, "backup", "restore", prefix, *key, "--target", str(tmp_path / "out"), "--role", "NRP")
    assert r.returncode == 0 and (tmp_path / "out" / "NRP" / "n.bin").read_bytes() == b"\0" * 12
    other = "0" if backup_id[0] != "0" else "1"
    r = ibs(store, "backup", "show", other * 6)
    assert r.returncode == 2 and r.stderr == f"ibs: no backup id starts with {other * 6}; see 'ibs backup list'\n"


def test_backup_ls_lists_files_with_sizes_and_modes(backed_up):
    store, backup_id, pfx, pw = backed_up
    key = ["--decryption-cert", str(pfx), "--decryption-cert-password-file", str(pw)]
    r = ibs(store, "backup", "ls", backup_id[:8], *key, "--json")
    assert r.returncode == 0, r.stderr
    files = {f["path"]: f for f in json.loads(r.stdout)["files"]}
    assert sorted(files) == ["CA", "CA/db", "CA/db/a.txt", "CA/link", "CA/run.sh", "NRP", "NRP/n.bin"]
    assert files["CA/db/a.txt"]["sizeBytes"] == 6 * 999 and files["CA/db/a.txt"]["type"] == "file"
    assert files["CA/run.sh"]["mode"] == "0750"
    assert files["CA/link"]["type"] == "symlink" and files["CA/link"]["target"] == "db/a.txt"
    r = ibs(store, "backup", "ls", backup_id, *key, "--role", "NRP")
    assert r.returncode == 0, r.stderr
    lines = [" ".join(line.replace("│", " ").split()) for line in r.stdout.splitlines()]
    assert any(re.fullmatch(r"-rw-r--r-- 12 B \S+ \S+ UTC NRP/n\.bin", line) for line in lines), lines
    assert "CA" not in r.stdout


def test_verify_without_the_pfx_password_says_it_is_missing(backed_up):
    store, backup_id, pfx, _pw = backed_up
    r = ibs(store, "backup", "verify", backup_id, "--decryption-cert", str(pfx), stdin="")
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert "password" in r.stderr and "missing" in r.stderr and "wrong password" not in r.stderr


def _run_at_a_terminal(argv: list[str], typed: str) -> tuple[int, str]:
    """Run ``argv`` with a pseudo-terminal as stdin/stdout/stderr; type ``typed`` once a prompt
    shows. What the terminal showed, and the exit code."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: exec at once, nothing else
        env = {k: v for k, v in os.environ.items() if k not in ("IBS_STORE", "IBS_PFX_PASSWORD")}
        os.execve(argv[0], argv, env)
    seen = b""
    sent = False
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        if not sent and b"password:" in seen.lower():
            os.write(fd, typed.encode() + b"\r")
            sent = True
    done, status = os.waitpid(pid, os.WNOHANG)
    for _ in range(50):  # its terminal closed: it is exiting
        if done:
            break
        time.sleep(0.1)
        done, status = os.waitpid(pid, os.WNOHANG)
    if done == 0:  # still waiting for input that never came: no prompt was shown
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), seen.decode(errors="replace")


def test_password_file_dash_at_a_terminal_prompts_without_echo(backed_up):
    store, backup_id, pfx, _pw = backed_up
    code, shown = _run_at_a_terminal(
        [IBS, "--store", str(store), "backup", "verify", backup_id, "--decryption-cert", str(pfx),
         "--decryption-cert-password-file", "-"], "pfx-secret-Zq81")
    assert "Decryption cert password:" in shown
    assert "pfx-secret-Zq81" not in shown
    assert code == 0 and "verified" in shown, shown


# --- one output style -----------------------------------------------------------------------

PYTHON_LITERALS = re.compile(r"\b(True|False|None)\b")


def test_text_output_has_no_python_literals_and_one_date_format(backed_up):
    store, backup_id, *_ = backed_up
    texts = [ibs(store, *args).stdout for args in (("config", "show"), ("backup", "list"),
                                                    ("backup", "show", backup_id))]
    for text in texts:
        assert not PYTHON_LITERALS.search(text), text
        assert "PT" not in text and not re.search(r"\d{4}-\d\d-\d\dT", text), text
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", texts[1])


def test_config_set_prints_what_it_stored(backed_up):
    store, *_ = backed_up
    r = ibs(store, "config", "set", "--frequency-hours", "6", "--no-scheduler")
    assert r.returncode == 0 and r.stderr == ""
    assert r.stdout == "stored: frequency-hours 6; scheduler no\n"


def test_standalone_remediation_names_the_configured_port(tmp_path, cert_pair):
    cer, _pfx, pw = cert_pair.write(tmp_path)
    store, src = tmp_path / "st", tmp_path / "src"
    src.mkdir()
    r = ibs(store, "config", "set", "--path", "\\\\127.0.0.1\\backup\\ibs", "--smb-port", "1",
            "--username", "u", "--password-file", str(pw), "--encryption-cert", str(cer),
            "--source", f"CA={src}", "--no-check")
    assert r.returncode == 0, r.stderr
    assert ibs(store, "backup", "start").returncode == 1
    alerts = json.loads(ibs(store, "alerts", "--json").stdout)
    assert [a["category"] for a in alerts] == ["Connectivity"]
    text = alerts[0]["remediation"]
    assert "TCP port 1," in text and "127.0.0.1" in text and "this machine" in text
    assert "445" not in text and "ERCS" not in text


def test_daemon_says_the_next_backup_in_the_one_date_format(backed_up):
    store, *_ = backed_up
    env = {k: v for k, v in os.environ.items() if k != "IBS_STORE"}
    proc = subprocess.Popen([IBS, "daemon", "--store", str(store)], stderr=subprocess.PIPE,
                            text=True, env=env)
    try:
        first = proc.stderr.readline()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    assert re.fullmatch(r"ibs daemon: store \S+; next backup \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\n",
                        first), first
