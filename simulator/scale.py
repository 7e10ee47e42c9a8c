"""The scale model, in one place: modelled bytes (what users see) against real bytes (what moves).

A 20 GB backup is not written for real in a simulation. Roles produce real, deterministic bytes
at ``MODELLED_PER_REAL`` modelled bytes per real byte, and every figure shown to a user (sizes,
budgets, share capacity, transfer time) is in modelled units: 1 GB = 10**9 modelled bytes.
"""

from __future__ import annotations

from ibs.engine.units import GB, MB  # noqa: F401 (modelled units are the decimal units)

#: Modelled bytes per real byte: a 20 GB backup is about 1.2 MB of real data, and even a 1 GB
#: backup (61 KB) dwarfs the few KB of manifest and framing every backup carries.
MODELLED_PER_REAL = 2**14

#: Chunk size the simulated engine uses: a 20 GB backup spans about twenty steps.
SIM_CHUNK_SIZE = 64 * 1024


def to_real(modelled: float) -> int:
    return max(0, int(modelled // MODELLED_PER_REAL))


def to_modelled(real: int) -> int:
    return real * MODELLED_PER_REAL
