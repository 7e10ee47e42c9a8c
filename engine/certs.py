"""Encryption certificates: the public .CER that encrypts backups, the .PFX that decrypts them.

The certificate only transports keys (REFERENCE.md, Encryption): self-signed is fine and no
chain or validity period is checked. What is checked is the key: RSA with exactly 2048 bits.
The thumbprint is what Windows shows: SHA-1 over the certificate's DER bytes, upper-case hex.
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import warnings
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from ibs.engine.errors import BadInput, CertificateError

KEY_BITS = 2048
SUBJECT_MAX = 64  # characters: X.509's bound on a common name (RFC 5280, ub-common-name)


@dataclass(frozen=True)
class Certificate:
    """A public encryption certificate (the .CER)."""

    der: bytes
    public_key: rsa.RSAPublicKey

    # Kept: every backup names its certificate twice, and the controller keeps one Certificate
    # for the stored .cer.
    @functools.cached_property
    def thumbprint(self) -> str:
        return thumbprint(self.der)

    @property
    def subject(self) -> str:
        return x509.load_der_x509_certificate(self.der).subject.rfc4514_string()


@dataclass(frozen=True)
class DecryptionKey:
    """The private half, loaded from a .PFX; lives in memory only, never persisted."""

    certificate: Certificate
    private_key: rsa.RSAPrivateKey

    @property
    def thumbprint(self) -> str:
        return self.certificate.thumbprint


def thumbprint(der: bytes) -> str:
    return hashlib.sha1(der, usedforsecurity=False).hexdigest().upper()


def _checked(cert: x509.Certificate, source: str) -> Certificate:
    try:
        key = cert.public_key()
    except (ValueError, UnsupportedAlgorithm):
        # The certificate parses, but its key does not (corrupt, or an algorithm unknown here).
        raise CertificateError(
            f"{source}: the certificate's public key cannot be read; an RSA {KEY_BITS}-bit key "
            "is required"
        ) from None
    if not isinstance(key, rsa.RSAPublicKey):
        kind = type(key).__name__.removeprefix("_").replace("PublicKey", "")
        raise CertificateError(
            f"{source}: the certificate's key is {kind or 'not RSA'}; an RSA {KEY_BITS}-bit key is required"
        )
    if key.key_size != KEY_BITS:
        raise CertificateError(
            f"{source}: the certificate's RSA key has {key.key_size} bits; exactly {KEY_BITS} are required"
        )
    return Certificate(der=cert.public_bytes(serialization.Encoding.DER), public_key=key)


def load_certificate(data: bytes, source: str = "certificate") -> Certificate:
    """Parse a .CER in DER or PEM form."""
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            cert = x509.load_pem_x509_certificate(data)
        else:
            cert = x509.load_der_x509_certificate(data)
    except (ValueError, x509.InvalidVersion):  # InvalidVersion is not a ValueError
        raise CertificateError(
            f"{source} is not an X.509 certificate (expected a .cer in DER or PEM form)"
        ) from None
    return _checked(cert, source)


def load_pfx(data: bytes, password: str | None, source: str = "PFX") -> DecryptionKey:
    """Parse a PKCS#12 file (OpenSSL's or Windows'), checking its key matches its certificate."""
    secret = password.encode("utf-8") if password else None
    with warnings.catch_warnings():
        # cryptography warns when it falls back to BER for a malformed file; the outcome (a
        # bundle, or our one-line error) is what the user needs, not a library warning.
        warnings.simplefilter("ignore", UserWarning)
        return _load_pfx(data, secret, source)


def _load_pfx(data: bytes, secret: bytes | None, source: str) -> DecryptionKey:
    try:
        bundle = pkcs12.load_pkcs12(data, secret)
    except ValueError:
        # cryptography says the same for a wrong password and a corrupt file; try to tell them apart.
        if secret is not None:
            try:
                pkcs12.load_pkcs12(data, None)
            except ValueError:
                pass
            else:
                raise CertificateError(f"{source} is not protected by a password, but one was given") from None
        raise CertificateError(
            f"{source}: wrong password, or not a PKCS#12 (.pfx) file"
        ) from None
    if bundle.key is None or bundle.cert is None:
        raise CertificateError(f"{source} must hold both a private key and its certificate")
    cert = _checked(bundle.cert.certificate, source)
    key = bundle.key
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CertificateError(f"{source}: the private key is not RSA")
    if key.public_key().public_numbers() != cert.public_key.public_numbers():
        raise CertificateError(f"{source}: the private key does not belong to its certificate")
    return DecryptionKey(certificate=cert, private_key=key)


def check_subject(subject: str) -> str:
    """A subject usable as the certificate's common name: 1 to 64 characters, not all blank."""
    if not subject.strip():
        raise BadInput("the certificate subject is empty; give a name, e.g. --subject 'Backup 2026'")
    if len(subject) > SUBJECT_MAX:
        raise BadInput(f"the certificate subject has {len(subject)} characters; at most "
                       f"{SUBJECT_MAX} are allowed (an X.509 common name)")
    return subject


def new_certificate(
    subject: str, pfx_password: str | None, *, now: _dt.datetime, valid_days: int = 365 * 5
) -> tuple[bytes, bytes]:
    """Make a self-signed RSA-2048 certificate; return (.cer DER bytes, .pfx bytes)."""
    check_subject(subject)
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _dt.timedelta(days=1))
        .not_valid_after(now + _dt.timedelta(days=valid_days))
        .add_extension(
            x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=True,
                data_encipherment=True, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    if pfx_password:
        # AES-256 + PBKDF2 (not the legacy RC2/3DES default): what current OpenSSL and Windows read.
        encryption = (
            serialization.PrivateFormat.PKCS12.encryption_builder()
            .kdf_rounds(100_000)
            .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
            .hmac_hash(hashes.SHA256())
            .build(pfx_password.encode("utf-8"))
        )
    else:
        encryption = serialization.NoEncryption()
    pfx = pkcs12.serialize_key_and_certificates(
        subject.encode("utf-8"), key, cert, None, encryption
    )
    return cert.public_bytes(serialization.Encoding.DER), pfx
