"""The commands that set the engine up: ``ibs cert new``, ``ibs config set`` and ``show``."""

from __future__ import annotations

import argparse
import contextlib
import os

from ibs.engine.certs import check_subject, load_certificate, new_certificate, thumbprint
from ibs.engine.cli.context import controller
from ibs.engine.cli.human import plain, when
from ibs.engine.cli.io import (
    ENV_PFX_PASSWORD,
    ENV_SHARE_PASSWORD,
    err,
    human_bytes,
    out,
    print_json,
    read_file,
    read_secret,
    table,
)
from ibs.engine.cli.location_check import Checked, check_location
from ibs.engine.clock import SystemClock
from ibs.engine.controller import Controller
from ibs.engine.errors import BadInput
from ibs.engine.settings import (
    check_frequency,
    check_path,
    check_port,
    check_retention,
    check_smb_timeout,
    parse_sources,
)

# --- cert -------------------------------------------------------------------------------


def cmd_cert_new(args: argparse.Namespace) -> int:
    check_subject(args.subject)
    cer_path, pfx_path = os.path.abspath(args.out_cer), os.path.abspath(args.out_pfx)
    if os.path.realpath(cer_path) == os.path.realpath(pfx_path):
        raise BadInput(f"--out-cer and --out-pfx are both {cer_path}; the public certificate and "
                       "the private key need two different files")
    for path in (cer_path, pfx_path):
        if os.path.lexists(path):
            raise BadInput(f"{path} already exists; choose another file name")
        parent = os.path.dirname(path)
        if not os.path.isdir(parent):
            raise BadInput(f"folder {parent} does not exist")
    password = read_secret(args.pfx_password_file, ENV_PFX_PASSWORD, "pfx password",
                           required=True, prompt=True, confirm=True)
    cer, pfx = new_certificate(args.subject, password, now=SystemClock().now())
    _write_new_files([(pfx_path, pfx, 0o600), (cer_path, cer, 0o644)])
    out.print(f"certificate {args.out_cer}, private key {args.out_pfx}, thumbprint {thumbprint(cer)}")
    out.print("keep the .pfx and its password away from the stamp: they are needed only to restore")
    return 0


def _write_new_files(files: list[tuple[str, bytes, int]]) -> None:
    """Create every file (none may exist) or, if one fails, none: those made are removed."""
    made: list[str] = []
    try:
        for path, data, mode in files:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
            made.append(path)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
    except OSError as exc:
        for path in made:
            with contextlib.suppress(OSError):
                os.unlink(path)
        raise BadInput(f"cannot write {exc.filename or path}: {exc.strerror}") from None


# --- config -----------------------------------------------------------------------------


def cmd_config_set(args: argparse.Namespace) -> int:
    ctl = controller(args)
    password = None
    if args.password_file is not None:
        password = read_secret(args.password_file, ENV_SHARE_PASSWORD, "password", required=True)
    elif os.environ.get(ENV_SHARE_PASSWORD) and args.username is not None:
        password = os.environ[ENV_SHARE_PASSWORD]
    sources = parse_sources(args.source) if args.source else None
    cert = read_file(args.encryption_cert, "certificate") if args.encryption_cert else None
    checked = None
    if not args.no_check and any(v is not None for v in (
            args.path, args.username, password, args.smb_port, args.smb_timeout)):
        checked = _check_new_location(ctl, args, password, cert)
    result = ctl.configure(path=args.path, smb_port=args.smb_port, smb_timeout=args.smb_timeout,
                           username=args.username,
                           password=password, cert=cert, frequency_hours=args.frequency_hours,
                           retention_days=args.retention_days, scheduler=args.scheduler,
                           sources=sources)
    for path in result.pruned:
        out.print(f"deleted {path} (older than the new retention period)")
    for warning in result.warnings:
        err.print(f"warning: {warning}")
    if checked is not None:
        out.print(f"checked {checked.location}: reachable, writable, "
                  f"{human_bytes(checked.free_bytes)} free")
    changed = _given_settings(args, sources)
    if changed:
        stored = ctl.location()
        shown = {**stored, "sources": ", ".join(f"{k}={v}" for k, v in result.settings.sources.items())}
        out.print("stored: " + "; ".join(
            f"{name} {plain(shown.get(key))}" if key else name for name, key in changed))
    missing = result.settings.missing()
    if missing:
        err.print(f"note: backup needs {' and '.join(missing)} before it can run")
    return 0


# The options of 'config set', each with the name 'config show' gives the setting.
_SHOWN_AS = (("path", "--path", "path"), ("smb_port", "--smb-port", "smbPort"),
             ("smb_timeout", "--smb-timeout", "smbTimeoutSeconds"),
             ("username", "--username", "userName"),
             ("encryption_cert", "--encryption-cert", "encryptionCertThumbprint"),
             ("frequency_hours", "--frequency-hours", "backupFrequencyInHours"),
             ("retention_days", "--retention-days", "backupRetentionPeriodInDays"),
             ("scheduler", "--scheduler", "isBackupSchedulerEnabled"))


def _given_settings(args: argparse.Namespace, sources: object) -> list[tuple[str, str]]:
    """(what to call it, its key in 'config show') for each setting this command changed."""
    given = [(flag.removeprefix("--"), key) for attr, flag, key in _SHOWN_AS
             if getattr(args, attr) is not None]
    if args.password_file is not None:
        given.append(("the password (not shown)", ""))
    if sources is not None:
        given.append(("sources", "sources"))
    return given


def _check_new_location(ctl: Controller, args: argparse.Namespace, password: str | None,
                        cert: bytes | None) -> Checked | None:
    """Connect to the location the settings will name, before anything is stored; the rest of
    the input is checked first, so a typo costs no connection."""
    for value, check in ((args.frequency_hours, check_frequency), (args.retention_days, check_retention)):
        if value is not None:
            check(value)
    if cert is not None:
        load_certificate(cert, "encryption certificate")
    changes: dict[str, object] = {}
    if args.path is not None:
        changes["path"] = check_path(args.path)
    if args.username is not None:
        changes["username"] = args.username or None
    if args.smb_port is not None:
        changes["smb_port"] = check_port(args.smb_port)
    if args.smb_timeout is not None:
        changes["smb_timeout"] = check_smb_timeout(args.smb_timeout)
    new = ctl.settings.with_changes(**changes)
    if new.path is None:
        return None  # no location yet: the credentials are checked when one is given
    return check_location(ctl, new, password)


def cmd_config_show(args: argparse.Namespace) -> int:
    info = controller(args).location()
    if args.json:
        print_json(info)
        return 0
    t = table("setting", "value")
    for key, value in info.items():
        if key == "password":
            continue
        if key == "sources" and isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items()) or "-"
        elif key.endswith("Time"):
            value = when(value)  # type: ignore[arg-type]
        t.add_row(key, plain(value))
    out.print(t)
    return 0
