"""A tiny recording TCP relay on 127.0.0.1, to look at what crosses the wire."""

from __future__ import annotations

import socket
import threading
import uuid
from dataclasses import dataclass
from typing import Any


class RecordingRelay:
    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.to_server = bytearray()
        self.to_client = bytearray()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._socks: list[socket.socket] = []
        self._accept = threading.Thread(target=self._run, daemon=True)
        self._accept.start()

    def _run(self) -> None:
        try:
            client, _ = self._listener.accept()
        except OSError:
            return
        upstream = socket.create_connection(("127.0.0.1", self.target_port))
        self._socks += [client, upstream]
        for src, dst, log in ((client, upstream, self.to_server), (upstream, client, self.to_client)):
            t = threading.Thread(target=self._pump, args=(src, dst, log), daemon=True)
            t.start()
            self._threads.append(t)

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket, log: bytearray) -> None:
        try:
            while data := src.recv(65536):
                log += data
                dst.sendall(data)
        except OSError:
            pass
        finally:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def close(self) -> None:
        self._listener.close()
        for s in self._socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        self._accept.join(2)
        for t in self._threads:
            t.join(2)


def frames(stream: bytes) -> list[bytes]:
    """Split a Direct-TCP byte stream into SMB messages (4-byte length prefix)."""
    out, pos = [], 0
    while pos + 4 <= len(stream):
        n = int.from_bytes(stream[pos + 1 : pos + 4], "big")
        out.append(bytes(stream[pos + 4 : pos + 4 + n]))
        pos += 4 + n
    return out


def transforms(stream: bytes) -> list[bytes]:
    """The encrypted messages (SMB2 TRANSFORM_HEADER, MS-SMB2 2.2.41) in a byte stream."""
    return [f for f in frames(stream) if f[:4] == b"\xfdSMB"]


@dataclass
class RelayedSession:
    session: Any
    conn: Any
    tree: Any
    relay: RecordingRelay


def write_through_relay(server, secret: bytes, dialect: str = "3.1.1",
                        require_encryption: bool = False, ciphers=None) -> RelayedSession:
    """Log on through a recording relay, write ``secret`` and read it back; the relay is closed
    on return, holding every byte both ways."""
    from smbprotocol.connection import Connection
    from smbprotocol.open import CreateDisposition, ShareAccess
    from smbprotocol.session import Session
    from smbprotocol.tree import TreeConnect

    from tests.fake_smb.conftest import DIALECT_CODES, PASSWORD, USER
    from tests.fake_smb.raw_requests import open_file

    relay = RecordingRelay(server.port)
    conn = Connection(uuid.uuid4(), "127.0.0.1", relay.port)
    try:
        conn.connect(dialect=DIALECT_CODES[dialect], timeout=5, preferred_encryption_algos=ciphers)
        session = Session(conn, USER, PASSWORD, require_encryption=require_encryption,
                          auth_protocol="ntlm")
        session.connect()
        tree = TreeConnect(session, server.unc)
        tree.connect()
        fh = open_file(tree, "secret.txt", disposition=CreateDisposition.FILE_OVERWRITE_IF,
                       share=ShareAccess.FILE_SHARE_READ)
        fh.write(secret, 0)
        assert fh.read(0, len(secret)) == secret
        fh.close()
        return RelayedSession(session, conn, tree, relay)
    finally:
        conn.disconnect(close=False)
        relay.close()
