"""A deterministic RSA-2048 certificate per seed, so a simulated run is identical byte for byte.

The thumbprint appears in backup records and reports; a freshly generated key would change it
on every run, and generating one from a seeded generator in Python took about a second per
certificate. So the keys come from a pool made once and shipped with the package
(``simulator/data/sim_keys.pem``, labelled simulation-only: its private keys are public), and
only the certificate is made per seed: its subject and serial number come from the seed, its
dates are fixed, and RSA PKCS#1 v1.5 signing is deterministic. Two seeds always get different
certificates and thumbprints; they may share a key pair, which no run can tell, as a run only
ever holds its own certificates. Within a run they must not: the engine tries the PFX's key
before it compares thumbprints, so a wrong PFX holding the right key would pass the unwrap and
fail later, as an altered manifest instead of a refused PFX. See ``pool_index``.

For simulations only: real certificates come from ``ibs cert new``.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
from importlib import resources

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from ibs.simulator.pfx import deterministic_pfx

_PEM_BLOCK = re.compile(rb"-----BEGIN PRIVATE KEY-----\n.+?-----END PRIVATE KEY-----\n", re.DOTALL)
_NUMBERED = re.compile(r"(.*?)(\d+)", re.DOTALL)
_START = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


@functools.cache
def _pool_pem() -> tuple[bytes, ...]:
    text = resources.files("ibs.simulator").joinpath("data/sim_keys.pem").read_bytes()
    return tuple(_PEM_BLOCK.findall(text))


def pool_size() -> int:
    return len(_pool_pem())


@functools.lru_cache(maxsize=64)  # the whole pool
def pool_key(index: int) -> rsa.RSAPrivateKey:
    # The RSA consistency check costs about 0.1 s a key; the test suite makes it once for every
    # key in the pool (tests/simulator/test_certificates.py), so a run need not repeat it.
    key = serialization.load_pem_private_key(_pool_pem()[index], None,
                                             unsafe_skip_rsa_key_validation=True)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def _number(text: str, purpose: str) -> int:
    return int.from_bytes(hashlib.sha256(f"ibs-sim-{purpose}:{text}".encode()).digest()[:8], "big")


def pool_index(seed: str) -> int:
    """The pooled key for ``seed``: a run's seed ``"S"`` for its first certificate, or
    ``"S:name"`` for one the run rotates to.

    All of a run's certificates sit at offsets from one start drawn from ``S``; the first
    certificate at offset 0, every other one at 1 to N-1, so a rotated certificate never shares
    the first one's key. Names that differ only in a trailing number (``cert1``, ``cert2``, ...,
    as the fuzzer names them; ``cert-2025``, ``cert-2026``) take consecutive offsets, so up to
    N-1 of them never share a key; other names take a hashed offset, and two of them share a
    key once in N-1 pairs. Offsets do not depend on ``S``: whether two names share a key is the
    same in every run (tests/simulator/test_certificates.py checks the scenario library's names).
    """
    size = pool_size()
    base, colon, name = seed.partition(":")
    start = _number(base, "key-start")
    if not colon:
        return start % size
    numbered = _NUMBERED.fullmatch(name)
    if numbered:
        offset = _number(numbered[1], "key-offset") + int(numbered[2])
    else:
        offset = _number(name, "key-offset")
    return (start + 1 + offset % (size - 1)) % size


@functools.lru_cache(maxsize=64)
def cert_pair(seed: str, password: str = "simulated-pfx") -> tuple[bytes, bytes, str]:
    """(.cer DER, .pfx, password) for ``seed``; the same seed always gives the same bytes."""
    index = pool_index(seed)
    key = pool_key(index)
    name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "IBS simulator, not for real backups"),
        x509.NameAttribute(NameOID.COMMON_NAME, f"Simulated hub backup {seed}"),
    ])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(_number(seed, "serial") | 1)
            .not_valid_before(_START).not_valid_after(_START + dt.timedelta(days=3650))
            .sign(key, hashes.SHA256()))
    der = cert.public_bytes(serialization.Encoding.DER)
    # The PFX's salts and IV come from its key and password, not from the seed: its two key
    # derivations (2,048 rounds of SHA-256 each, two thirds of a certificate's cost) are then
    # made once per pooled key (simulator/pfx.py keeps them), not once per certificate; the
    # fuzzer makes a few certificates per program. Within a run no two certificates share a
    # key (``pool_index``), so none share a salt either.
    salt = hashlib.sha256(f"ibs-sim-pfx:key{index}:{password}".encode()).digest()
    return der, deterministic_pfx(key, der, password, salt), password
