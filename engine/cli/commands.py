"""The engine's commands: cert, config, backup, alerts, daemon."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal

from ibs.engine.certs import check_subject, load_certificate, load_pfx, new_certificate, thumbprint
from ibs.engine.cli.io import (
    ENV_PFX_PASSWORD,
    ENV_SHARE_PASSWORD,
    err,
    human_bytes,
    out,
    print_json,
    progress_bar,
    read_file,
    read_secret,
    table,
)
from ibs.engine.cli.location_check import Checked, check_location
from ibs.engine.clock import SystemClock
from ibs.engine.controller import Controller
from ibs.engine.errors import BadInput
from ibs.engine.history import BackupRecord
from ibs.engine.job import Job
from ibs.engine.settings import (
    check_frequency,
    check_path,
    check_port,
    check_retention,
    check_role_name,
    check_smb_timeout,
    parse_sources,
)
from ibs.engine.store import Store, resolve_store_dir

# A backup that completed without some of its data (README, "Exit codes"), as restic's 3.
EXIT_WARNINGS = 4


def controller(args: argparse.Namespace) -> Controller:
    return Controller(Store(resolve_store_dir(args.store)), SystemClock())


def register(sub) -> None:
    cert = sub.add_parser("cert", help="encryption certificates").add_subparsers(
        dest="cert_command", required=True, metavar="ACTION")
    new = cert.add_parser("new", help="make a self-signed RSA-2048 certificate (.cer and .pfx)")
    new.add_argument("--out-cer", required=True, metavar="FILE")
    new.add_argument("--out-pfx", required=True, metavar="FILE")
    new.add_argument("--subject", default="Azure Stack Hub Infrastructure Backup", metavar="NAME")
    new.add_argument("--pfx-password-file", metavar="FILE")
    new.set_defaults(func=cmd_cert_new)

    config = sub.add_parser("config", help="backup settings").add_subparsers(
        dest="config_command", required=True, metavar="ACTION")
    cs = config.add_parser("set", help="change settings (only those given)")
    cs.add_argument("--path", help=r"UNC path \\host\share\folder, or a local folder")
    cs.add_argument("--smb-port", type=int, metavar="N")
    cs.add_argument("--smb-timeout", type=int, metavar="SECONDS",
                    help="fail a stalled SMB request after this long (1 to 300, default 30)")
    cs.add_argument("--username", metavar="USER")
    cs.add_argument("--password-file", metavar="FILE", help="share password ('-' for stdin)")
    cs.add_argument("--encryption-cert", metavar="FILE", help="public certificate (.cer)")
    cs.add_argument("--frequency-hours", type=int, metavar="N", help="4 to 12 (default 12)")
    cs.add_argument("--retention-days", type=int, metavar="N", help="2 to 14 (default 7)")
    sched = cs.add_mutually_exclusive_group()
    sched.add_argument("--scheduler", dest="scheduler", action="store_true", default=None)
    sched.add_argument("--no-scheduler", dest="scheduler", action="store_false")
    cs.add_argument("--source", action="append", metavar="ROLE=DIR",
                    help="a role and the folder holding its data (repeat; replaces all sources)")
    cs.add_argument("--no-check", action="store_true",
                    help="store the location and credentials without connecting to check them "
                         "(offline setup); by default they are checked first")
    cs.set_defaults(func=cmd_config_set)
    show = config.add_parser("show", help="print the settings")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=cmd_config_show)

    backup = sub.add_parser("backup", help="backups").add_subparsers(
        dest="backup_command", required=True, metavar="ACTION")
    start = backup.add_parser("start", help="run an on-demand backup now")
    start.add_argument("--json", action="store_true")
    start.set_defaults(func=cmd_backup_start)
    lst = backup.add_parser("list", help="list backups")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(func=cmd_backup_list)
    sh = backup.add_parser("show", help="show one backup")
    sh.add_argument("id")
    sh.add_argument("--json", action="store_true")
    sh.set_defaults(func=cmd_backup_show)
    for name, func, helptext in (("verify", cmd_backup_verify, "decrypt and check everything, write nothing"),
                                 ("restore", cmd_backup_restore, "restore roles into a folder")):
        p = backup.add_parser(name, help=helptext)
        p.add_argument("id")
        p.add_argument("--decryption-cert", required=True, metavar="FILE", help="the .pfx")
        p.add_argument("--decryption-cert-password-file", metavar="FILE")
        if name == "restore":
            p.add_argument("--target", required=True, metavar="DIR")
            p.add_argument("--role", metavar="ROLE", help="restore one role (default: all)")
        p.add_argument("--json", action="store_true")
        p.set_defaults(func=func)
    prune = backup.add_parser("prune", help="delete backups older than the retention period")
    prune.add_argument("--dry-run", action="store_true", help="list what would be deleted")
    prune.add_argument("--json", action="store_true")
    prune.set_defaults(func=cmd_backup_prune)

    alerts = sub.add_parser("alerts", help="active alerts and their remediation")
    alerts.add_argument("--all", action="store_true", help="include cleared alerts")
    alerts.add_argument("--json", action="store_true")
    alerts.set_defaults(func=cmd_alerts)

    daemon = sub.add_parser("daemon", help="run scheduled backups in real time")
    daemon.set_defaults(func=cmd_daemon)


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
    missing = result.settings.missing()
    if missing:
        err.print(f"note: backup needs {' and '.join(missing)} before it can run")
    return 0


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
        t.add_row(key, "-" if value is None else str(value))
    out.print(t)
    return 0


# --- backup -----------------------------------------------------------------------------


def _run_job(job: Job, show_progress: bool) -> BackupRecord:
    total = 0
    with progress_bar(f"backup {job.record.id[:8]}", total, show_progress) as update:
        return job.run(lambda p: update(done=p.done_bytes))


def cmd_backup_start(args: argparse.Namespace) -> int:
    ctl = controller(args)
    job = ctl.start_backup("OnDemand")
    record = _run_job(job, not args.json)
    if args.json:
        print_json(record.to_json())
    else:
        (out if record.status == "Succeeded" else err).print(record.describe())
        for w in record.warnings:
            err.print(f"warning: {w}")
    return {"Succeeded": 0, "PartialSucceeded": EXIT_WARNINGS}.get(record.status, 1)


def cmd_backup_list(args: argparse.Namespace) -> int:
    records = controller(args).backups()
    if args.json:
        print_json([r.to_json() for r in records])
        return 0
    t = table("id", "status", "trigger", "created", "time taken", "size", "thumbprint")
    for r in records:
        t.add_row(r.id, r.status, r.trigger, r.createdDateTime[:19].replace("T", " "),
                  r.timeTakenToCreate or "-", human_bytes(r.sizeBytes) if r.sizeBytes else "-",
                  (r.encryptionCertThumbprint or "-")[:12])
    out.print(t if records else "no backups yet")
    return 0


def cmd_backup_show(args: argparse.Namespace) -> int:
    record = controller(args).backup_record(args.id)
    if args.json:
        print_json(record.to_json())
        return 0
    t = table("field", "value")
    for key, value in record.to_json().items():
        if isinstance(value, list):
            value = ", ".join(f"{v['roleName']}={v['status']}" if isinstance(v, dict) else str(v)
                              for v in value) or "-"
        elif isinstance(value, dict):
            value = ", ".join(f"{k}: {v}" for k, v in value.items())
        t.add_row(key, "-" if value is None else str(value))
    out.print(t)
    return 0


def _decryption_key(args: argparse.Namespace):
    data = read_file(args.decryption_cert, "PFX")
    password = read_secret(args.decryption_cert_password_file, ENV_PFX_PASSWORD,
                           "decryption cert password", required=False, prompt=True)
    return load_pfx(data, password, args.decryption_cert)


def cmd_backup_verify(args: argparse.Namespace) -> int:
    ctl = controller(args)
    record = ctl.backup_record(args.id) if _known(ctl, args.id) else None
    key = _decryption_key(args)
    total = record.dataBytes if record else 0
    with progress_bar(f"verify {args.id[:8]}", total, not args.json) as update:
        result = ctl.verify(args.id, key, on_bytes=lambda n: update(advance=n))
    if args.json:
        print_json({"id": args.id, "verified": True,
                    "roles": [{"roleName": k, "entries": v[0], "bytes": v[1]} for k, v in result.items()]})
    else:
        files = sum(v[0] for v in result.values())
        size = sum(v[1] for v in result.values())
        out.print(f"backup {args.id} verified: {len(result)} roles, {files} entries, "
                  f"{human_bytes(size)} of data, every chunk authentic")
    return 0


def _known(ctl: Controller, backup_id: str) -> bool:
    try:
        ctl.backup_record(backup_id)
        return True
    except BadInput:
        return False


def cmd_backup_restore(args: argparse.Namespace) -> int:
    if args.role is not None:  # '' must not mean "every role"
        if not args.role:
            raise BadInput("--role '' names no role; give a role name, or leave --role out to "
                           "restore every role")
        check_role_name(args.role)
    ctl = controller(args)
    target = os.path.abspath(args.target)
    if os.path.exists(target) and not os.path.isdir(target):
        raise BadInput(f"restore target {target} is a file, not a folder")
    key = _decryption_key(args)
    with progress_bar(f"restore {args.id[:8]}", 0, not args.json) as update:
        created = ctl.restore(args.id, key, target, args.role, on_bytes=lambda n: update(advance=n))
    if args.json:
        print_json({"id": args.id, "restored": created})
    else:
        for path in created:
            out.print(f"restored {path}")
    return 0


def cmd_backup_prune(args: argparse.Namespace) -> int:
    paths = controller(args).prune(dry_run=args.dry_run)
    if args.json:
        print_json({"pathsToDelete" if args.dry_run else "deleted": paths})
    elif not paths:
        out.print("nothing to delete")
    else:
        for path in paths:
            out.print(f"{'would delete' if args.dry_run else 'deleted'} {path}")
    return 0


def cmd_alerts(args: argparse.Namespace) -> int:
    book = controller(args).alert_book()
    alerts = book.alerts if args.all else book.active()
    if args.json:
        print_json([a.to_json() for a in alerts])
        return 0
    if not alerts:
        out.print("no active alerts")
        return 0
    for a in alerts:
        state = "active" if a.active else f"cleared {a.clearedDateTime}"
        out.print(f"[bold]{a.category}[/bold] ({state}, raised {a.raisedDateTime}): {a.title}")
        out.print(f"  {a.message}")
        out.print(f"  remediation: {a.remediation}")
    return 0


# --- daemon -----------------------------------------------------------------------------


def cmd_daemon(args: argparse.Namespace) -> int:
    from ibs.engine.daemon import serve

    ctl = controller(args)
    clock = ctl.clock
    assert isinstance(clock, SystemClock)
    stopping = False

    def stop(signum, frame):
        nonlocal stopping
        stopping = True
        clock.interrupt()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    err.print(f"ibs daemon: store {ctl.store.root}; next backup "
              f"{ctl.next_backup_time() or 'not scheduled'}")
    serve(ctl, lambda: stopping, lambda line: err.print(line))
    err.print("ibs daemon: stopped")
    return 0
