"""Certificates: what loads, what is refused, and the thumbprint Windows would show."""

from __future__ import annotations

import datetime as dt
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from ibs.engine import certs
from ibs.engine.errors import CertificateError

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def self_signed(key) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "t")])
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(NOW).not_valid_after(NOW + dt.timedelta(days=1))
            .sign(key, hashes.SHA256()))


@pytest.mark.parametrize("bits", [1024, 4096])
def test_rsa_keys_of_other_sizes_are_refused(bits):
    cert = self_signed(rsa.generate_private_key(public_exponent=65537, key_size=bits))
    with pytest.raises(CertificateError, match=f"has {bits} bits; exactly 2048"):
        certs.load_certificate(cert.public_bytes(serialization.Encoding.DER))


def test_ec_key_is_refused():
    cert = self_signed(ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(CertificateError, match="an RSA 2048-bit key is required"):
        certs.load_certificate(cert.public_bytes(serialization.Encoding.DER))


def test_not_a_certificate_is_refused():
    with pytest.raises(CertificateError, match="not an X.509 certificate"):
        certs.load_certificate(b"hello, I am a text file\n")


def test_pem_and_der_give_the_same_thumbprint_as_openssl(cert_pair, tmp_path):
    der_cert = certs.load_certificate(cert_pair.cer)
    pem = x509.load_der_x509_certificate(cert_pair.cer).public_bytes(serialization.Encoding.PEM)
    assert certs.load_certificate(pem).thumbprint == der_cert.thumbprint
    (tmp_path / "c.cer").write_bytes(cert_pair.cer)
    shown = subprocess.run(["openssl", "x509", "-inform", "DER", "-in", str(tmp_path / "c.cer"),
                            "-noout", "-fingerprint", "-sha1"], capture_output=True, text=True,
                           check=True).stdout
    assert shown.strip().split("=", 1)[1].replace(":", "") == der_cert.thumbprint
    assert der_cert.thumbprint.isupper() and len(der_cert.thumbprint) == 40


def test_pfx_made_by_openssl_loads(tmp_path):
    key, crt, pfx = tmp_path / "k.pem", tmp_path / "c.pem", tmp_path / "b.pfx"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                    "-out", str(crt), "-days", "2", "-subj", "/CN=openssl"], check=True,
                   capture_output=True)
    for legacy in ([], ["-legacy"]):
        r = subprocess.run(["openssl", "pkcs12", "-export", *legacy, "-inkey", str(key), "-in",
                            str(crt), "-out", str(pfx), "-passout", "pass:p w"], capture_output=True, check=False)
        if r.returncode != 0 and legacy:
            continue  # an OpenSSL without the legacy provider
        loaded = certs.load_pfx(pfx.read_bytes(), "p w")
        assert loaded.thumbprint == certs.load_certificate(crt.read_bytes()).thumbprint


def test_pfx_with_windows_style_3des_encryption_loads():
    """Windows' default export: PBE-SHA1-3DES for the key and certificate."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = self_signed(key)
    enc = (serialization.PrivateFormat.PKCS12.encryption_builder()
           .kdf_rounds(2000).key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
           .hmac_hash(hashes.SHA1()).build(b"win"))
    pfx = pkcs12.serialize_key_and_certificates(b"w", key, cert, None, enc)
    assert certs.load_pfx(pfx, "win").certificate.der == cert.public_bytes(serialization.Encoding.DER)


def test_pfx_wrong_password_is_refused(cert_pair):
    with pytest.raises(CertificateError, match="wrong password"):
        certs.load_pfx(cert_pair.pfx, "not it")


def test_pfx_without_its_certificate_is_refused():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pfx = pkcs12.serialize_key_and_certificates(b"x", key, None, None,
                                                serialization.BestAvailableEncryption(b"pw"))
    with pytest.raises(CertificateError, match="both a private key and its certificate"):
        certs.load_pfx(pfx, "pw")


def test_new_certificate_is_rsa_2048_and_its_pfx_needs_the_password(cert_pair):
    cert = certs.load_certificate(cert_pair.cer)
    assert cert.public_key.key_size == 2048
    assert cert_pair.key.thumbprint == cert.thumbprint
    with pytest.raises(CertificateError):
        certs.load_pfx(cert_pair.pfx, None)
