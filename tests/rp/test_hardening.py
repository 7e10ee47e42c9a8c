"""The HTTP stack's defences: read deadlines, idle connections, HTTPS."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ibs.engine.rp import gate
from ibs.engine.rp.server import make_server
from tests.rp.conftest import LOC, TOKEN, Rp, V

AUTH = f"Authorization: Bearer {TOKEN}\r\n"


def _connect(url: str) -> socket.socket:
    host, port = url.rsplit("/", 1)[-1].rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=20)
    return s


def _read_all(s: socket.socket) -> bytes:
    out = b""
    while chunk := s.recv(65536):
        out += chunk
    return out


def test_a_half_sent_head_is_closed_and_idle_connections_block_nobody(rp: Rp):
    server = make_server(rp.api, "127.0.0.1", 0, head_timeout=0.5)
    server.start()
    try:
        idle = [_connect(server.url) for _ in range(30)]
        slow = _connect(server.url)
        slow.sendall(b"GET " + LOC.encode() + b"?api-version=" + V.encode() + b" HTTP/1.1\r\nHost: x\r\n")
        # 31 connections hold nothing a request needs: one still gets its answer at once
        r = httpx.get(server.url + LOC, params={"api-version": V},
                      headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
        assert r.status_code == 200
        assert _read_all(slow) == b""  # closed by the server, no answer to half a head
        for s in idle:
            assert _read_all(s) == b""
            s.close()
        slow.close()
    finally:
        server.stop()


def test_a_half_sent_body_is_408(rp: Rp, monkeypatch):
    monkeypatch.setattr(gate, "BODY_TIMEOUT", 0.5)
    s = _connect(rp.url)
    head = (f"PUT {LOC}?api-version={V} HTTP/1.1\r\nHost: x\r\n{AUTH}"
            "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n")
    s.sendall(head.encode() + b'{"location":')
    answer = _read_all(s)  # the server closes: the request it answered was never whole
    s.close()
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b'"RequestTimeout"' in answer


def _tls_pair(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "tls.crt", folder / "tls.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_https_with_a_certificate_and_key(rp: Rp, tmp_path):
    cert, key = _tls_pair(tmp_path)
    rp.api.base_url = ""  # this server's own address
    server = make_server(rp.api, "127.0.0.1", 0, tls_cert=str(cert), tls_key=str(key))
    server.start()
    try:
        assert server.url.startswith("https://127.0.0.1:")
        context = ssl.create_default_context(cafile=str(cert))
        with httpx.Client(base_url=server.url, verify=context, timeout=10,
                          headers={"Authorization": f"Bearer {TOKEN}"}) as client:
            r = client.put(LOC, params={"api-version": V})
            assert r.status_code == 202
            assert r.headers["Location"].startswith(server.url + "/subscriptions/")
            assert client.get(r.headers["Location"]).status_code == 200
        with pytest.raises(httpx.HTTPError):  # plain HTTP is not answered on the TLS port
            httpx.get(server.url.replace("https", "http") + LOC, timeout=5)
    finally:
        server.stop()
