"""The scale model, in one place: modelled bytes (what users see) against real bytes (what moves).

A 20 GB backup is not written for real in a simulation. Roles produce real, deterministic bytes
at ``MODELLED_PER_REAL`` modelled bytes per real byte, and every figure shown to a user (sizes,
budgets, share capacity, transfer time) is in modelled units: 1 GB = 10**9 modelled bytes.
"""

from __future__ import annotations

from ibs.engine.units import GB, MB  # noqa: F401 (modelled units are the decimal units)

#: Modelled bytes per real byte: a 20 GB backup is about 300 KB of real data, a 1 GB backup
#: 15 KB, of which a quarter is the manifest and framing every backup carries. The hub sizes
#: role data so framing and all come to the modelled size (simulator/shape.py), so the scale
#: costs no accuracy, and four times fewer real bytes to hash and encrypt than 2**14 did.
MODELLED_PER_REAL = 2**16

#: Chunk size the simulated engine uses: a 20 GB backup spans about twenty steps (as many
#: SimPy events a backup as at the former 2**14 scale with 64 KiB chunks).
SIM_CHUNK_SIZE = 16 * 1024


def to_real(modelled: float) -> int:
    return max(0, int(modelled // MODELLED_PER_REAL))


def to_modelled(real: int) -> int:
    return real * MODELLED_PER_REAL
