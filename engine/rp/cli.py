"""``ibs serve-rp``: the Backup Resource Provider (REST API and operator page) in one process."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from ibs.engine.cli.human import when
from ibs.engine.cli.io import add_store_option
from ibs.engine.errors import BadInput
from ibs.engine.rp.auth import ENV_TOKEN, TOKEN_FILE
from ibs.engine.settings import check_port, parse_sources
from ibs.engine.store import Store, resolve_store_dir

DEFAULT_PORT = 8480


def register(sub) -> None:
    p = sub.add_parser(
        "serve-rp", help="serve the Backup Resource Provider API and operator page",
        description="Serve the Backup Resource Provider's REST API and operator page. Every "
        "request needs the API token as 'Authorization: Bearer TOKEN'. On the first start a new "
        f"token is printed once to stderr; only its hash is kept, in <store>/{TOKEN_FILE} "
        f"(delete that file for a new token). Or choose the token: set {ENV_TOKEN}.")
    add_store_option(p)
    p.add_argument("--port", type=int, default=DEFAULT_PORT, metavar="N",
                   help=f"TCP port of the API (default {DEFAULT_PORT}; 0 picks a free one)")
    p.add_argument("--bind", default="127.0.0.1", metavar="ADDR",
                   help="address to listen on (default 127.0.0.1, loopback only)")
    p.add_argument("--restore-root", metavar="DIR",
                   help="where restores go, each into <DIR>/<backup-id>-<n>/ "
                        "(default <store>/restores)")
    p.add_argument("--no-scheduler", action="store_true",
                   help="do not run scheduled backups in this process (they run by default, "
                        "as the real provider runs them)")
    p.add_argument("--with-scheduler", action="store_true", help=argparse.SUPPRESS)  # the default now
    p.add_argument("--source", action="append", default=[], metavar="ROLE=DIR",
                   help="a role's data folder, used when the store has none (so a client sending "
                        "the specification's fields only can start a backup); repeatable")
    p.add_argument("--smb-port", type=int, metavar="N",
                   help="the share's TCP port when the store has none (a client sending the "
                        "specification's fields only cannot give one; default 445)")
    p.add_argument("--base-url", metavar="URL",
                   help="the URL clients reach this provider by, for the polling URLs "
                        "(default: the address it listens on; never the request's Host header)")
    p.add_argument("--tls-cert", metavar="PEM",
                   help="serve HTTPS with this certificate chain (default: plain HTTP)")
    p.add_argument("--tls-key", metavar="PEM", help="the private key of --tls-cert")
    p.set_defaults(func=cmd_serve_rp)


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _start_scheduler(store: Store, stopping: threading.Event) -> threading.Thread:
    """The daemon's own loop (engine.daemon.serve) in a thread; the job slot keeps it and the
    API's on-demand backups apart."""
    from ibs.engine.clock import SystemClock
    from ibs.engine.controller import Controller
    from ibs.engine.daemon import serve

    clock = SystemClock()
    ctl = Controller(store, clock)
    def interrupt_on_stop() -> None:  # wakes the scheduler's sleep as soon as serving stops
        stopping.wait()
        clock.interrupt()

    threading.Thread(target=interrupt_on_stop, daemon=True).start()
    thread = threading.Thread(target=serve, args=(ctl, stopping.is_set, _say),
                              name="rp-scheduler", daemon=True)
    thread.start()
    nxt = ctl.next_backup_time()
    _say(f"ibs serve-rp: scheduler on; next backup {when(nxt) if nxt else 'not scheduled'}")
    return thread


def cmd_serve_rp(args: argparse.Namespace) -> int:
    from ibs.engine.rp.api import Api
    from ibs.engine.rp.auth import load_or_create
    from ibs.engine.rp.server import make_server

    if not 0 <= args.port <= 65535:
        raise BadInput(f"--port must be between 0 and 65535, got {args.port}")
    if bool(args.tls_cert) != bool(args.tls_key):
        raise BadInput("give --tls-cert and --tls-key together (the certificate and its key)")
    for flag, path in (("--tls-cert", args.tls_cert), ("--tls-key", args.tls_key)):
        if path and not os.path.isfile(path):
            raise BadInput(f"{flag} {path} is not a file")
    if args.base_url and not args.base_url.startswith(("http://", "https://")):
        raise BadInput(f"--base-url must start with http:// or https://, got {args.base_url!r}")
    sources = parse_sources(args.source)
    if args.smb_port is not None:
        check_port(args.smb_port)
    store = Store(resolve_store_dir(getattr(args, "store", None)))
    check, new_token = load_or_create(store)
    api = Api(store.root, check, restore_root=args.restore_root, log=_say,
              base_url=args.base_url or "", sources=sources, smb_port=args.smb_port)
    try:
        server = make_server(api, args.bind, args.port, tls_cert=args.tls_cert,
                             tls_key=args.tls_key)
    except OSError as exc:
        raise BadInput(f"cannot listen on {args.bind}:{args.port}: {exc.strerror}") from None
    stopping = threading.Event()

    def stop(signum, frame):
        stopping.set()

    # Before the first line is printed: whoever waits for "listening" may stop us right away.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if new_token is not None:
        _say(f"ibs serve-rp: new API token (shown once; only its hash is kept in "
             f"{store.path(TOKEN_FILE)}): {new_token}")
    elif not os.environ.get(ENV_TOKEN):
        _say(f"ibs serve-rp: using the token made on an earlier start (hash in "
             f"{store.path(TOKEN_FILE)}; delete that file for a new one, or set {ENV_TOKEN})")
    _say(f"ibs serve-rp: listening on {server.url}/ (store {store.root}, restores into "
         f"{api.restore_root})")

    server.start()
    scheduler = None if args.no_scheduler else _start_scheduler(store, stopping)
    stopping.wait()
    _say("ibs serve-rp: stopping (waiting for a running job to finish)")
    server.stop()
    if scheduler is not None:
        scheduler.join(60)
    _say("ibs serve-rp: stopped")
    return 0
