"""Simulated certificates: the same bytes for a seed in every process, keys from the shipped pool
only, a PFX that opens what its certificate encrypts, and no two certificates of a run sharing a
key."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given
from hypothesis import strategies as st

from ibs.engine import certs, keys
from ibs.engine.errors import CertificateError, IntegrityError
from ibs.scenarios.loader import load
from ibs.simulator.certificates import _pool_pem, cert_pair, pool_index, pool_key, pool_size

LIBRARY = Path(__file__).resolve().parents[2] / "scenarios" / "library"
ROOT = Path(__file__).resolve().parents[2]


def _digests(seed: str) -> list[str]:
    cer, pfx, _password = cert_pair(seed)
    return [hashlib.sha256(cer).hexdigest(), hashlib.sha256(pfx).hexdigest()]


def test_the_pool_holds_distinct_valid_rsa_2048_keys() -> None:
    blocks = _pool_pem()
    assert len(blocks) == pool_size() == 64
    moduli = set()
    for pem in blocks:
        # Loading with the default checks runs OpenSSL's RSA consistency check (primes, CRT values).
        key = serialization.load_pem_private_key(pem, None)
        assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
        numbers = key.private_numbers()
        assert numbers.public_numbers.e == 65537 and numbers.p != numbers.q
        moduli.add(numbers.public_numbers.n)
    assert len(moduli) == len(blocks)


def test_a_certificate_holds_a_pooled_key_and_says_it_is_simulated() -> None:
    for seed in ("1", "41:cert-2026", "fresh-seed-never-cached"):
        cer, _pfx, _password = cert_pair(seed)
        cert = certs.load_certificate(cer)
        assert cert.public_key.public_numbers() == \
            pool_key(pool_index(seed)).public_key().public_numbers()
        assert "not for real backups" in cert.subject and seed in cert.subject


def test_the_same_seed_gives_the_same_bytes_in_another_process() -> None:
    seeds = ["7", "7:cert-2026", "7:cert1"]
    code = ("import json, sys; from tests.simulator.test_certificates import _digests; "
            "print(json.dumps([_digests(s) for s in sys.argv[1:]]))")
    proc = subprocess.run([sys.executable, "-c", code, *seeds], capture_output=True, text=True,
                          cwd=ROOT, timeout=60, check=True)
    assert json.loads(proc.stdout) == [_digests(s) for s in seeds]
    # And again in this process without the cache: nothing random goes into the PFX either.
    for seed in seeds:
        assert cert_pair.__wrapped__(seed)[:2] == cert_pair(seed)[:2]


def test_different_seeds_give_different_certificates_even_on_a_shared_key() -> None:
    seeds = [str(n) for n in range(200)]
    assert len({certs.thumbprint(cert_pair(s)[0]) for s in seeds}) == len(seeds)
    by_key: dict[int, str] = {}
    for s in seeds:
        shared = by_key.setdefault(pool_index(s), s)
        if shared != s:
            break
    else:
        pytest.fail("200 seeds over 64 keys and no two share one")
    first, second = (certs.load_certificate(cert_pair(x)[0]) for x in (shared, s))
    assert first.public_key.public_numbers() == second.public_key.public_numbers()
    assert first.thumbprint != second.thumbprint


def test_the_pfx_opens_what_its_certificate_encrypts_and_nothing_else() -> None:
    cer, pfx, password = cert_pair("3")
    backup_id = uuid.uuid4()
    wrapped = keys.wrap(certs.load_certificate(cer), b"k" * 32, backup_id)
    key = certs.load_pfx(pfx, password)
    assert key.thumbprint == certs.thumbprint(cer)
    assert keys.unwrap(key, wrapped, backup_id) == b"k" * 32
    other = certs.load_pfx(*cert_pair("3:rotated")[1:])
    with pytest.raises(IntegrityError):
        keys.unwrap(other, wrapped, backup_id)
    with pytest.raises(CertificateError, match="wrong password"):
        certs.load_pfx(pfx, "not-" + password)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_openssl_reads_the_pfx(tmp_path: Path) -> None:
    _cer, pfx, password = cert_pair("5")
    (tmp_path / "sim.pfx").write_bytes(pfx)
    proc = subprocess.run(["openssl", "pkcs12", "-in", str(tmp_path / "sim.pfx"), "-nodes",
                           "-passin", f"pass:{password}"], capture_output=True, timeout=30, check=False)
    assert proc.returncode == 0, proc.stderr
    assert b"BEGIN PRIVATE KEY" in proc.stdout and b"BEGIN CERTIFICATE" in proc.stdout
    wrong = subprocess.run(["openssl", "pkcs12", "-in", str(tmp_path / "sim.pfx"), "-nodes",
                            "-passin", "pass:wrong"], capture_output=True, timeout=30, check=False)
    assert wrong.returncode != 0


# A run's certificates must not share a key: the engine unwraps with the PFX's key before it
# compares thumbprints, so a wrong PFX holding the right key would not be refused as one.


@pytest.mark.parametrize("path", sorted(LIBRARY.glob("*.toml")), ids=lambda p: p.stem)
def test_no_two_certificates_of_a_library_scenario_share_a_key(path: Path) -> None:
    scenario = load(path)
    names = [e.params["name"] for e in scenario.events if e.action == "operator_certificate"]
    # Offsets from the run's start do not depend on the seed; a few seeds show it.
    for seed in (scenario.seed, 0, 1, 12345):
        indices = [pool_index(f"{seed}")]
        indices += [pool_index(f"{seed}:{n}") for n in dict.fromkeys(names)]
        assert len(set(indices)) == len(indices), (seed, names, indices)


def test_the_fuzzers_numbered_certificates_never_share_a_key() -> None:
    for seed in (0, 1, 2**16):
        indices = [pool_index(f"{seed}")] + [pool_index(f"{seed}:cert{i}")
                                             for i in range(1, pool_size())]
        assert sorted(indices) == list(range(pool_size()))


@given(seed=st.integers(0, 2**16), name=st.text(min_size=1, max_size=20))
def test_a_rotated_certificate_never_takes_the_first_ones_key(seed: int, name: str) -> None:
    assert pool_index(f"{seed}:{name}") != pool_index(f"{seed}")
