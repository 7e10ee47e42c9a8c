"""Throughput of 4 MiB writes and reads through smbprotocol, encryption on.

Not a test (timings are noisy): run it and read the figures.
    .venv/bin/python -m tests.fake_smb.throughput [total MiB]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import uuid

from smbprotocol.connection import Ciphers, Connection, Dialects
from smbprotocol.open import (
    CreateDisposition,
    CreateOptions,
    FilePipePrinterAccessMask,
    ImpersonationLevel,
    Open,
    ShareAccess,
)
from smbprotocol.session import Session
from smbprotocol.tree import TreeConnect

from ibs.fake_smb import FakeSmbServer

MiB = 1024 * 1024
CHUNK = 4 * MiB


def run(total_mib: int, dialect: int, cipher: int | None, encryption: str) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as share, FakeSmbServer(share, users={"u": "p"}, encryption=encryption) as srv:
        conn = Connection(uuid.uuid4(), srv.host, srv.port)
        conn.connect(dialect=dialect, preferred_encryption_algos=[cipher] if cipher else None)
        try:
            session = Session(conn, "u", "p", require_encryption=encryption != "off", auth_protocol="ntlm")
            session.connect()
            tree = TreeConnect(session, srv.unc)
            tree.connect()
            fh = Open(tree, "bench.bin")
            fh.create(ImpersonationLevel.Impersonation, FilePipePrinterAccessMask.GENERIC_ALL, 0,
                      ShareAccess.FILE_SHARE_READ, CreateDisposition.FILE_OVERWRITE_IF,
                      CreateOptions.FILE_NON_DIRECTORY_FILE)
            data = os.urandom(CHUNK)
            n = total_mib * MiB // CHUNK
            t0 = time.perf_counter()
            for i in range(n):
                fh.write(data, i * CHUNK)
            t1 = time.perf_counter()
            for i in range(n):
                assert len(fh.read(i * CHUNK, CHUNK)) == CHUNK
            t2 = time.perf_counter()
            fh.close()
            size = n * CHUNK / 1e6
            return size / (t1 - t0), size / (t2 - t1)
        finally:
            conn.disconnect()


def main() -> None:
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 256
    cases = [
        ("3.1.1 AES-128-GCM (required)", Dialects.SMB_3_1_1, Ciphers.AES_128_GCM, "required"),
        ("3.1.1 AES-128-CCM (required)", Dialects.SMB_3_1_1, Ciphers.AES_128_CCM, "required"),
        ("3.0.2 AES-128-CCM (required)", Dialects.SMB_3_0_2, None, "required"),
        ("3.1.1 signed, no encryption ", Dialects.SMB_3_1_1, None, "off"),
    ]
    for label, dialect, cipher, encryption in cases:
        w, r = run(total, dialect, cipher, encryption)
        print(f"{label}: write {w:6.1f} MB/s, read {r:6.1f} MB/s ({total} MiB in 4 MiB requests)")


if __name__ == "__main__":
    main()
