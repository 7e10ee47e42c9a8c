"""A restore the target cannot take ends in one line naming the path and the cause, and leaves
nothing behind: no role folder, no staging folder, no target folder it created itself.

Tests run as root, where modes stop nothing: a refusal (EACCES, ENOSPC) is made by making the
os call refuse for chosen paths; ENOTDIR, ENAMETOOLONG and ENOENT are real.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ibs.engine.cli import app
from ibs.engine.errors import IbsError
from tests.engine.conftest import tree_snapshot


@pytest.fixture
def backup(rig):
    return rig.ctl.start_backup().run()


@contextlib.contextmanager
def refusing(name: str, err: int, when: Callable[..., bool]) -> Iterator[None]:
    """``os.<name>`` fails with ``err`` when ``when(*args)`` says so, as a real refusal would."""
    real = getattr(os, name)

    def fake(*args, **kw):
        if when(*args):
            path = args[0] if isinstance(args[0], (str, bytes)) else None
            raise OSError(err, os.strerror(err), *([path] if path else []))
        return real(*args, **kw)

    setattr(os, name, fake)
    try:
        yield
    finally:
        setattr(os, name, real)


def _fd_under(root: Path) -> Callable[..., bool]:
    def check(fd, *_):
        try:
            return os.readlink(f"/proc/self/fd/{fd}").startswith(str(root))
        except OSError:
            return False
    return check


def assert_nothing_left(target: Path) -> None:
    """The target (made by the restore, or given) is empty."""
    assert os.listdir(target) == []


def restore_error(rig, backup, cert_pair, target: Path) -> IbsError:
    with pytest.raises(IbsError) as caught:
        rig.ctl.restore(backup.id, cert_pair.key, str(target))
    message = str(caught.value)
    assert "\n" not in message and "nothing was restored" in message
    return caught.value


def test_a_full_disk_names_the_file_and_leaves_the_target_empty(rig, backup, cert_pair):
    target = rig.tmp / "out"
    target.mkdir()
    with refusing("write", errno.ENOSPC, _fd_under(target)):
        exc = restore_error(rig, backup, cert_pair, target)
    assert f"{target}/CA/ca.db" in str(exc) and "no space left" in str(exc)
    assert ".ibs-restore" not in str(exc)
    assert exc.exit_code == 1
    assert_nothing_left(target)


def test_a_file_the_target_refuses_is_named_and_exits_2(rig, backup, cert_pair):
    target = rig.tmp / "out"
    with refusing("open", errno.EACCES, lambda path, *_: str(path).endswith("/blob")):
        exc = restore_error(rig, backup, cert_pair, target)
    assert f"{target}/ECE/blob" in str(exc) and "permission denied" in str(exc)
    assert exc.exit_code == 2
    assert_nothing_left(target)  # CA, restored first, went with it


def test_a_target_folder_that_cannot_be_made_leaves_no_parent_behind(rig, backup, cert_pair):
    target = rig.tmp / "new" / "deeper" / "out"
    with refusing("mkdir", errno.EACCES, lambda path, *_: str(path) == str(target)):
        exc = restore_error(rig, backup, cert_pair, target)
    assert str(target) in str(exc) and exc.exit_code == 2
    assert not (rig.tmp / "new").exists()


def test_a_target_under_a_file_is_refused_in_one_line(rig, backup, cert_pair):
    (rig.tmp / "a-file").write_text("x")
    target = rig.tmp / "a-file" / "out"
    exc = restore_error(rig, backup, cert_pair, target)
    assert str(target) in str(exc) and "is a file, not a folder" in str(exc)
    assert exc.exit_code == 2
    assert (rig.tmp / "a-file").read_text() == "x"


def test_a_target_name_too_long_is_refused_in_one_line(rig, backup, cert_pair):
    target = rig.tmp / ("x" * 300)
    exc = restore_error(rig, backup, cert_pair, target)
    assert "too long" in str(exc) and exc.exit_code == 2
    assert not os.path.lexists(target)


@pytest.mark.parametrize("below", ["", "/sub"])
def test_a_target_through_a_dangling_symlink_is_refused_in_one_line(rig, backup, cert_pair, below):
    os.symlink(rig.tmp / "nowhere" / "x", rig.tmp / "dangling")
    target = Path(f"{rig.tmp / 'dangling'}{below}")
    exc = restore_error(rig, backup, cert_pair, target)
    assert "dangling symlink" in str(exc) and exc.exit_code == 2
    assert not (rig.tmp / "nowhere").exists()


def test_a_staging_folder_removed_during_the_restore_is_one_line(rig, backup, cert_pair):
    target = rig.tmp / "out"

    def remove_ece_staging(_n: int) -> None:
        for name in os.listdir(target):
            if name.startswith(".ibs-restore-ECE-"):
                shutil.rmtree(target / name)

    with pytest.raises(IbsError) as caught:
        rig.ctl.restore(backup.id, cert_pair.key, str(target), on_bytes=remove_ece_staging)
    assert "does not exist" in str(caught.value) and f"{target}/ECE" in str(caught.value)
    assert caught.value.exit_code == 2
    assert_nothing_left(target)


def test_a_role_that_cannot_be_moved_into_place_takes_the_others_back_out(rig, backup, cert_pair):
    target = rig.tmp / "out"
    target.mkdir()
    with refusing("rename", errno.EACCES, lambda src, dst, *_: str(dst).endswith("/ECE")):
        exc = restore_error(rig, backup, cert_pair, target)
    assert f"{target}/ECE" in str(exc)
    assert_nothing_left(target)  # CA had been renamed into place


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_staging_left_by_a_killed_restore_is_removed_by_the_next(rig, backup, cert_pair):
    target = rig.tmp / "out"
    stale = [target / f".ibs-restore-CA-{_dead_pid()}-0badc0de",
             target / ".ibs-restore-ECE-1234abcd"]  # named by a version without the pid
    for folder in stale:
        (folder / "locked").mkdir(parents=True)
        (folder / "locked" / "data").write_bytes(b"x" * 1000)
        os.chmod(folder / "locked", 0o500)
    live = target / f".ibs-restore-CA-{os.getppid()}-00c0ffee"  # a restore still running
    live.mkdir()
    created = rig.ctl.restore(backup.id, cert_pair.key, str(target))
    assert sorted(os.listdir(target)) == sorted(["CA", "ECE", live.name])
    assert created == [str(target / "CA"), str(target / "ECE")]
    assert tree_snapshot(target / "CA") == tree_snapshot(rig.sources["CA"])


def test_the_cli_prints_one_line_and_the_documented_exit_code(rig, backup, cert_pair, capsys):
    _cer, pfx, pw = cert_pair.write(rig.tmp)
    store = rig.ctl.store.root
    (rig.tmp / "a-file").write_text("x")
    for target, code in ((rig.tmp / "a-file" / "out", 2), (rig.tmp / ("y" * 300), 2)):
        argv = ["--store", store, "backup", "restore", backup.id, "--decryption-cert", str(pfx),
                "--decryption-cert-password-file", str(pw), "--target", str(target)]
        assert app.main(argv) == code
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("ibs: ") and "Traceback" not in err
    target = rig.tmp / "full"
    with refusing("write", errno.ENOSPC, _fd_under(target)):
        assert app.main([*argv[:-1], str(target)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no space left" in err


def test_a_read_only_target_for_real_is_one_line_exit_2(rig, backup, cert_pair):
    """Mode 0555 binding the engine as it binds any user (see test_partial_real_modes)."""
    from tests.engine.test_partial_real_modes import AS_ROOT, ibs

    if AS_ROOT and shutil.which("setpriv") is None:
        pytest.skip("as root, modes bind only without CAP_DAC_*: needs setpriv")
    _cer, pfx, pw = cert_pair.write(rig.tmp)
    parent = rig.tmp / "read-only"
    parent.mkdir(mode=0o555)
    r = ibs(Path(rig.ctl.store.root), "backup", "restore", backup.id, "--decryption-cert",
            str(pfx), "--decryption-cert-password-file", str(pw), "--target", str(parent / "out"))
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert f"{parent}/out" in r.stderr and "permission denied" in r.stderr
    assert os.listdir(parent) == []


# --- the property: whichever target call fails, and however, nothing is left ----------------

_CALLS = ("mkdir", "open", "write", "fchmod", "chmod", "utime", "symlink", "rename")
_ERRNOS = (errno.ENOSPC, errno.EACCES, errno.ENOENT, errno.ENOTDIR, errno.ENAMETOOLONG,
           errno.EROFS, errno.EIO, errno.EDQUOT)


@contextlib.contextmanager
def failing_at(target: Path, n: int, err: int) -> Iterator[None]:
    """The ``n``-th os call that touches ``target`` (a path under it, or a file open in it)
    fails with ``err``; calls before it, and calls elsewhere, work."""
    real = {name: getattr(os, name) for name in _CALLS}
    seen = [0]
    root = str(target)

    def touches(arg) -> bool:
        if isinstance(arg, int):
            try:
                return os.readlink(f"/proc/self/fd/{arg}").startswith(root)
            except OSError:
                return False
        return isinstance(arg, (str, bytes)) and os.fsdecode(arg).startswith(root)

    def wrap(name: str):
        def call(*args, **kw):
            if args and touches(args[-1] if name in ("symlink", "rename") else args[0]):
                seen[0] += 1
                if seen[0] == n:
                    raise OSError(err, os.strerror(err))
            return real[name](*args, **kw)
        return call

    for name in _CALLS:
        setattr(os, name, wrap(name))
    try:
        yield
    finally:
        for name, fn in real.items():
            setattr(os, name, fn)


def test_any_failing_target_call_leaves_nothing_and_is_one_line(rig, cert_pair):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    ca = rig.sources["CA"]
    (ca / "sub").mkdir()
    (ca / "sub" / "x").write_bytes(b"x" * 5000)
    os.symlink("../ca.db", ca / "sub" / "link")
    os.chmod(ca / "sub", 0o750)
    record = rig.ctl.start_backup().run()
    expected = {role: tree_snapshot(src) for role, src in rig.sources.items()}
    runs = [0]

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(n=st.integers(1, 60), err=st.sampled_from(_ERRNOS), exists=st.booleans())
    def check(n: int, err: int, exists: bool) -> None:
        runs[0] += 1
        target = rig.tmp / f"out-{runs[0]}"
        if exists:
            target.mkdir()
        try:
            with failing_at(target, n, err):
                rig.ctl.restore(record.id, cert_pair.key, str(target))
        except IbsError as exc:
            message = str(exc)
            assert "\n" not in message and str(target) in message
            assert ".ibs-restore" not in message
            assert exc.exit_code == (1 if err in (errno.ENOSPC, errno.EIO, errno.EDQUOT) else 2)
            assert not target.exists() or os.listdir(target) == []
        else:  # n was past the last call
            assert {role: tree_snapshot(target / role) for role in expected} == expected

    check()
