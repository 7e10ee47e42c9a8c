"""Not a test: plain smbprotocol vs SmbShare write throughput to a local Samba (256 MiB, 4 MiB writes).

Run as root: .venv/bin/python tests/smb/bench_throughput.py [desired|off]
"""
import os, sys, time, uuid, tempfile
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from ibs.fake_smb.samba import SambaServer
from ibs.engine.share.smb import SmbShare
from smbprotocol.connection import Connection
from smbprotocol.session import Session
from smbprotocol.tree import TreeConnect
from smbprotocol.open import Open, CreateDisposition, CreateOptions, FilePipePrinterAccessMask as A, ImpersonationLevel, ShareAccess
from smbprotocol.file_info import FileAttributes

TOTAL = 256 * 1024 * 1024
CH = 4 * 1024 * 1024
block = os.urandom(CH)
enc = sys.argv[1] if len(sys.argv) > 1 else "desired"

def plain(srv):
    c = Connection(uuid.uuid4(), "127.0.0.1", srv.port); c.connect()
    s = Session(c, "alice", "pw", require_encryption=(enc != "off")); s.connect()
    t = TreeConnect(s, srv.unc); t.connect()
    o = Open(t, "plain.bin")
    o.create(ImpersonationLevel.Impersonation, A.FILE_WRITE_DATA | A.FILE_READ_ATTRIBUTES | A.SYNCHRONIZE,
             FileAttributes.FILE_ATTRIBUTE_NORMAL, ShareAccess.FILE_SHARE_READ,
             CreateDisposition.FILE_OVERWRITE_IF, CreateOptions.FILE_NON_DIRECTORY_FILE)
    t0 = time.perf_counter()
    for off in range(0, TOTAL, CH):
        # credits: charge 64 per 4 MiB; top up as SmbShare does if needed
        have = c.sequence_window["high"] - c.sequence_window["low"]
        if have < 64:
            c.echo(sid=s.session_id, credit_request=65 - have)
        o.write(block, off)
    o.flush(); o.close(False)
    dt = time.perf_counter() - t0
    c.disconnect()
    return dt

def share(srv):
    with SmbShare(srv.unc, "alice", "pw", port=srv.port) as sh:
        t0 = time.perf_counter()
        with sh.create("share.bin") as f:
            for _ in range(0, TOTAL, CH):
                f.write(block)
        dt = time.perf_counter() - t0
        t1 = time.perf_counter()
        buf = bytearray(CH); n = 0
        with sh.open("share.bin") as f:
            while (k := f.readinto(buf)):
                n += k
        rt = time.perf_counter() - t1
        assert n == TOTAL
        return dt, rt, sh.transfer_encrypted

with tempfile.TemporaryDirectory(dir="/tmp") as d, SambaServer(d, users={"alice": "pw"}, encryption=enc) as srv:
    for rnd in range(4):
        if rnd % 2:
            w, r, e = share(srv); p = plain(srv)
        else:
            p = plain(srv); w, r, e = share(srv)
        mb = TOTAL / 1e6
        print(f"enc={enc} round {rnd}: plain smbprotocol write {mb/p:.0f} MB/s; SmbShare write {mb/w:.0f} MB/s, read {mb/r:.0f} MB/s (encrypted={e})")
