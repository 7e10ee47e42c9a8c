"""`ibs fake-smb serve`: run FakeSmbServer in the foreground until SIGTERM/SIGINT.

`ibs fake-smb conformance` lives in fake_smb/conformance_cli.py.
"""

from __future__ import annotations

import argparse
import getpass
import signal
import sys
import threading

from ibs.fake_smb import conformance_cli
from ibs.fake_smb.dialects import DIALECTS
from ibs.fake_smb.renamed import renamed
from ibs.fake_smb.server import ENCRYPTION_MODES, FakeSmbServer


def register(subparsers) -> None:
    parser = subparsers.add_parser("fake-smb", help="an SMB 3 test server (fake_smb)",
                                   description="An SMB 3 test server (fake_smb).")
    sub = parser.add_subparsers(dest="fake_smb_command", required=True)
    serve = sub.add_parser("serve", help="serve a directory over SMB on 127.0.0.1",
                           description="Serve a directory over SMB on 127.0.0.1 until SIGTERM "
                           "or Ctrl-C.")
    serve.add_argument("--port", type=int, required=True,
                       help="TCP port on 127.0.0.1 (0 picks a free one)")
    serve.add_argument("--share", required=True, help="directory to share")
    serve.add_argument("--share-name", default="backup", help="share name")
    serve.add_argument("--user", required=True, help="the user allowed to log on")
    serve.add_argument("--password-file", required=True,
                       help="file holding the password; '-' reads stdin, with a prompt at a terminal")
    serve.add_argument("--encryption", choices=ENCRYPTION_MODES, default="desired",
                       help="SMB 3 encryption: required refuses clients without it")
    serve.add_argument("--min-dialect", choices=list(DIALECTS), default="2.0.2",
                       help="the oldest SMB dialect accepted")
    serve.add_argument("--max-dialect", choices=list(DIALECTS), default="3.1.1",
                       help="the newest SMB dialect offered")
    serve.add_argument("--share-capacity-gb", type=float, dest="quota_bytes", metavar="N",
                       action=_GigabytesAsBytes, default=None,
                       help="capacity of the share in GB, 1 GB = 10^9 bytes (default: the "
                       "disk's free space)")
    renamed(serve, "--quota-bytes", "--share-capacity-gb", dest="quota_bytes", type=int)
    serve.set_defaults(func=serve_command)
    conformance_cli.register(sub)


class _GigabytesAsBytes(argparse.Action):
    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, round(values * 10**9))


def _read_password(source: str) -> str:
    if source == "-" and sys.stdin.isatty():
        password = getpass.getpass("Password: ")  # at a terminal: a prompt, no echo
        if not password:
            raise ValueError("the password typed is empty")
        return password
    if source == "-":
        text = sys.stdin.readline()
    else:
        with open(source, encoding="utf-8") as fh:
            text = fh.readline()
    password = text.rstrip("\r\n")
    if not password:
        raise ValueError(f"the password file {source!r} is empty")
    return password


def serve_command(args: argparse.Namespace) -> int:
    try:
        password = _read_password(args.password_file)
        if args.quota_bytes is not None and args.quota_bytes < 0:
            raise ValueError("the share capacity must not be negative")
        server = FakeSmbServer(
            args.share,
            share_name=args.share_name,
            users={args.user: password},
            port=args.port,
            encryption=args.encryption,
            min_dialect=args.min_dialect,
            max_dialect=args.max_dialect,
            quota_bytes=args.quota_bytes,
        )
    except (OSError, ValueError) as exc:
        print(f"fake-smb: {exc}", file=sys.stderr)
        return 2
    done = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: done.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        try:
            server.start()
        except OSError as exc:
            print(f"fake-smb: cannot listen on {server.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
            return 1
        print(f"fake_smb listening on {server.host}:{server.port} share {server.unc}", flush=True)
        while not done.wait(0.5):
            pass
        return 0
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main(argv: list[str] | None = None) -> int:
    """Standalone entry (python -m ibs.fake_smb.cli serve ...), same as `ibs fake-smb`."""
    parser = argparse.ArgumentParser(prog="fake-smb-cli")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["fake-smb", *(argv if argv is not None else sys.argv[1:])])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
