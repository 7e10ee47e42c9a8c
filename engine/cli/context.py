"""What several commands need from their arguments: the controller of the chosen store, a
backup id from what was typed, the decryption key from the .pfx options."""

from __future__ import annotations

import argparse

from ibs.engine.certs import DecryptionKey, load_pfx
from ibs.engine.cli.ids import resolve_id
from ibs.engine.cli.io import ENV_PFX_PASSWORD, read_file, read_secret
from ibs.engine.clock import SystemClock
from ibs.engine.controller import Controller
from ibs.engine.errors import BadInput, CertificateError
from ibs.engine.store import Store, resolve_store_dir


def controller(args: argparse.Namespace) -> Controller:
    return Controller(Store(resolve_store_dir(getattr(args, "store", None))), SystemClock())


def backup_id(ctl: Controller, given: str, *, listed_only: bool = False) -> str:
    """The backup ``given`` names, as a whole id or a unique start of one this store lists;
    a whole id need not be listed (a backup on the share) unless ``listed_only``."""
    return resolve_id(given, (r.id for r in ctl.backups()), any_whole=not listed_only)


def decryption_key(args: argparse.Namespace) -> DecryptionKey:
    data = read_file(args.decryption_cert, "PFX")
    password = read_secret(args.decryption_cert_password_file, ENV_PFX_PASSWORD,
                           "decryption cert password", required=False, prompt=True)
    if password is None:
        try:
            return load_pfx(data, None, args.decryption_cert)  # a PFX may have no password
        except CertificateError:
            raise BadInput(
                f"the password of {args.decryption_cert} is missing: give "
                "--decryption-cert-password-file FILE ('-' for stdin or a prompt) or set "
                f"{ENV_PFX_PASSWORD}") from None
    return load_pfx(data, password, args.decryption_cert)
