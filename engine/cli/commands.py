"""The engine's commands: their parsers (cert, config, backup, alerts, daemon), and the backup,
alerts and daemon commands (cert and config are in ``setup_commands``)."""

from __future__ import annotations

import argparse
import os
import signal

from ibs.engine.cli.context import backup_id, controller, decryption_key
from ibs.engine.cli.human import iso_duration_text, plain, when
from ibs.engine.cli.io import (
    ENV_PFX_PASSWORD,
    ENV_SHARE_PASSWORD,
    ID_HELP,
    JSON_HELP,
    add_store_option,
    err,
    human_bytes,
    out,
    print_json,
    progress_bar,
    table,
)
from ibs.engine.cli.listing import cmd_backup_ls
from ibs.engine.cli.setup_commands import cmd_cert_new, cmd_config_set, cmd_config_show
from ibs.engine.clock import SystemClock
from ibs.engine.controller import Controller
from ibs.engine.errors import BadInput
from ibs.engine.history import BackupRecord
from ibs.engine.job import Job
from ibs.engine.settings import (
    check_role_name,
)

# A backup that completed without some of its data (README, "Exit codes"), as restic's 3.
EXIT_WARNINGS = 4


BACKUP_START_HELP = (
    "Run an on-demand backup now and wait for it. Exit codes: 0 Succeeded; 1 Failed (an alert "
    "says why: 'ibs alerts'); 3 another backup job is running (the one job slot is taken: wait "
    "for it, or see 'ibs backup list'); 4 PartialSucceeded, some files or roles were not backed "
    "up (its warnings name them).")
DAEMON_HELP = (
    "Run scheduled backups in real time, in the foreground: every --frequency-hours from the "
    "stored settings, pruning past the retention period after each; stop it with Ctrl-C or "
    "SIGTERM (a running backup is finished first). 'ibs serve-rp' runs the same schedule "
    "beside the REST API.")


def _parser(sub, name: str, text: str, *, store: bool = True, description: str | None = None):
    p = sub.add_parser(name, help=text, description=description or text[:1].upper() + text[1:])
    if store:
        add_store_option(p)
    return p


def _add_json(p) -> None:
    p.add_argument("--json", action="store_true", help=JSON_HELP)


def _add_decryption(p) -> None:
    p.add_argument("--decryption-cert", required=True, metavar="FILE",
                   help="the .pfx holding the private key of the backup's certificate")
    p.add_argument("--decryption-cert-password-file", metavar="FILE",
                   help=f"file holding the .pfx's password; '-' reads stdin, with a prompt at a "
                   f"terminal (default: ${ENV_PFX_PASSWORD}, else a prompt at a terminal)")


def register(sub) -> None:
    cert = _parser(sub, "cert", "encryption certificates", store=False).add_subparsers(
        dest="cert_command", required=True, metavar="ACTION")
    new = _parser(cert, "new", "make a self-signed RSA-2048 certificate (.cer and .pfx)",
                  store=False)
    new.add_argument("--out-cer", required=True, metavar="FILE",
                     help="write the public certificate here (for 'config set --encryption-cert')")
    new.add_argument("--out-pfx", required=True, metavar="FILE",
                     help="write the private key and certificate here (needed to restore; keep "
                     "it off the stamp)")
    new.add_argument("--subject", default="Azure Stack Hub Infrastructure Backup", metavar="NAME",
                     help="the certificate's subject common name")
    new.add_argument("--pfx-password-file", metavar="FILE",
                     help=f"file holding the .pfx's new password; '-' reads stdin, with a prompt "
                     f"at a terminal (default: ${ENV_PFX_PASSWORD}, else a prompt at a terminal)")
    new.set_defaults(func=cmd_cert_new)

    config = _parser(sub, "config", "backup settings", store=False).add_subparsers(
        dest="config_command", required=True, metavar="ACTION")
    cs = _parser(config, "set", "change settings (only those given), then print what is stored")
    cs.add_argument("--path", help=r"UNC path \\host\share\folder, or a local folder")
    cs.add_argument("--smb-port", type=int, metavar="N",
                    help="the share's TCP port (445 until one is set)")
    cs.add_argument("--smb-timeout", type=int, metavar="SECONDS",
                    help="fail a stalled SMB request after this long (1 to 300, default 30)")
    cs.add_argument("--username", metavar="USER",
                    help="account on the share, DOMAIN\\user or user ('' for none; none until set)")
    cs.add_argument("--password-file", metavar="FILE",
                    help=f"file holding the share password; '-' reads stdin, with a prompt at a "
                    f"terminal (default: ${ENV_SHARE_PASSWORD} when --username is given)")
    cs.add_argument("--encryption-cert", metavar="FILE",
                    help="public certificate (.cer) that backups are encrypted for")
    cs.add_argument("--frequency-hours", type=int, metavar="N",
                    help="hours between scheduled backups, 4 to 12 (12 until set)")
    cs.add_argument("--retention-days", type=int, metavar="N",
                    help="days a backup is kept, 2 to 14 (7 until set)")
    sched = cs.add_mutually_exclusive_group()
    sched.add_argument("--scheduler", dest="scheduler", action="store_true", default=None,
                       help="run backups on the schedule (on until turned off)")
    sched.add_argument("--no-scheduler", dest="scheduler", action="store_false",
                       help="run on-demand backups only")
    cs.add_argument("--source", action="append", metavar="ROLE=DIR",
                    help="a role and the folder holding its data (repeat; replaces all sources)")
    cs.add_argument("--no-check", action="store_true",
                    help="store the location and credentials without connecting to check them "
                         "(offline setup); by default they are checked first")
    cs.set_defaults(func=cmd_config_set)
    show = _parser(config, "show", "print the settings")
    _add_json(show)
    show.set_defaults(func=cmd_config_show)

    backup = _parser(sub, "backup", "backups", store=False).add_subparsers(
        dest="backup_command", required=True, metavar="ACTION")
    start = _parser(backup, "start", "run an on-demand backup now", description=BACKUP_START_HELP)
    _add_json(start)
    start.set_defaults(func=cmd_backup_start)
    lst = _parser(backup, "list", "list backups")
    _add_json(lst)
    lst.set_defaults(func=cmd_backup_list)
    sh = _parser(backup, "show", "show one backup")
    sh.add_argument("id", help=ID_HELP)
    _add_json(sh)
    sh.set_defaults(func=cmd_backup_show)
    ls = _parser(backup, "ls", "list the files in a backup, with sizes and modes (needs the "
                 ".pfx: the file list is encrypted)")
    ls.add_argument("id", help=ID_HELP)
    ls.add_argument("--role", metavar="ROLE", help="list one role (default: every role)")
    _add_decryption(ls)
    _add_json(ls)
    ls.set_defaults(func=cmd_backup_ls)
    for name, func, helptext in (("verify", cmd_backup_verify, "decrypt and check everything, write nothing"),
                                 ("restore", cmd_backup_restore, "restore roles into a folder")):
        p = _parser(backup, name, helptext)
        p.add_argument("id", help=ID_HELP)
        _add_decryption(p)
        if name == "restore":
            p.add_argument("--target", required=True, metavar="DIR",
                           help="folder to restore into, each role as <DIR>/<ROLE>")
            p.add_argument("--role", metavar="ROLE", help="restore one role (default: all)")
        _add_json(p)
        p.set_defaults(func=func)
    prune = _parser(backup, "prune", "delete backups older than the retention period")
    prune.add_argument("--dry-run", action="store_true", help="list what would be deleted")
    _add_json(prune)
    prune.set_defaults(func=cmd_backup_prune)

    alerts = _parser(sub, "alerts", "active alerts and their remediation")
    alerts.add_argument("--all", action="store_true", help="include cleared alerts")
    _add_json(alerts)
    alerts.set_defaults(func=cmd_alerts)

    daemon = _parser(sub, "daemon", "run scheduled backups in real time", description=DAEMON_HELP)
    daemon.set_defaults(func=cmd_daemon)


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
        t.add_row(r.id, r.status, r.trigger, when(r.createdDateTime),
                  iso_duration_text(r.timeTakenToCreate),
                  human_bytes(r.sizeBytes) if r.sizeBytes else "-",
                  (r.encryptionCertThumbprint or "-")[:12])
    out.print(t if records else "no backups yet")
    return 0


def cmd_backup_show(args: argparse.Namespace) -> int:
    ctl = controller(args)
    record = ctl.backup_record(backup_id(ctl, args.id, listed_only=True))
    if args.json:
        print_json(record.to_json())
        return 0
    t = table("field", "value")
    for key, value in record.to_json().items():
        if isinstance(value, list):
            value = ", ".join(f"{v['roleName']}={v['status']}" if isinstance(v, dict) else str(v)
                              for v in value) or "-"
        elif key.endswith("DateTime"):
            value = when(value)
        elif key == "timeTakenToCreate":
            value = iso_duration_text(value)
        t.add_row(key, plain(value))
    out.print(t)
    return 0


def cmd_backup_verify(args: argparse.Namespace) -> int:
    ctl = controller(args)
    args.id = backup_id(ctl, args.id)
    record = ctl.backup_record(args.id) if _known(ctl, args.id) else None
    key = decryption_key(args)
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
    args.id = backup_id(ctl, args.id)
    target = os.path.abspath(args.target)
    if os.path.exists(target) and not os.path.isdir(target):
        raise BadInput(f"restore target {target} is a file, not a folder")
    key = decryption_key(args)
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
        state = "active" if a.active else f"cleared {when(a.clearedDateTime)}"
        out.print(f"[bold]{a.category}[/bold] ({state}, raised {when(a.raisedDateTime)}): {a.title}")
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
    nxt = ctl.next_backup_time()
    err.print(f"ibs daemon: store {ctl.store.root}; next backup "
              f"{when(nxt) if nxt else 'not scheduled'}")
    serve(ctl, lambda: stopping, lambda line: err.print(line))
    err.print("ibs daemon: stopped")
    return 0
