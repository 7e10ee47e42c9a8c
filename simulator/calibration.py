"""What a simulated backup stores beyond its roles' data, learnt from a calibration backup.

A hub sizes each backup's roles so the whole backup comes to its modelled size
(simulator/role_plan.py); for that it needs the framing (entry headers, the manifest's fixed
text), which it learns by writing one backup of its first day's shape to scratch memory.

The seed reaches a calibration backup only through its roles' bytes (keystream of fixed
lengths), the deployment ID (a GUID) and the certificate (its thumbprint, in the manifest):
none changes a length. What does (the profile, the start, the size, the chunk size, the
lengths of the controller's info) is the key of a per-process cache: calibrating was two
thirds of building a fuzz program's hub (tests/simulator/test_hub_framing.py checks that a
cached framing is the one a fresh calibration makes).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from ibs.engine.source import RoleSource
from ibs.simulator import scale, shape
from ibs.simulator.memshare import MemoryShare, ShareStorage
from ibs.simulator.roles import WEIGHTS, RoleState

#: Calibrated framings by what they depend on; a process sees a handful.
_FRAMINGS: dict[tuple[Any, ...], shape.Framing] = {}


def forget_calibrations() -> None:
    """The next hub calibrates again. A calibration backup draws a data key like any backup:
    where the engine's entropy is pinned (scenarios/determinism.py), a run that found the
    framing cached would draw every later key one place earlier than a run that did not."""
    _FRAMINGS.clear()


def framing(profile: object, start: dt.datetime, cert_der: bytes, info: dict[str, str],
            roles: dict[str, RoleState], modelled_bytes: int, now: dt.datetime) -> shape.Framing:
    """The framing of a hub of ``profile`` started at ``start``, calibrated once per key."""
    key = (profile, start, modelled_bytes, scale.SIM_CHUNK_SIZE,
           tuple(sorted((k, len(str(v))) for k, v in info.items())))
    found = _FRAMINGS.get(key)
    if found is None:
        found = _FRAMINGS[key] = calibrate(cert_der, info, roles, modelled_bytes, now)
    return found


def calibrate(cert_der: bytes, info: dict[str, str], roles: dict[str, RoleState],
              modelled_bytes: int, now: dt.datetime) -> shape.Framing:
    """Write one backup of ``modelled_bytes`` to scratch memory and see what beyond data it stores."""
    from ibs.engine.backup_writer import BackupWriter
    from ibs.engine.certs import load_certificate

    data = shape.apportion(scale.to_real(modelled_bytes), WEIGHTS)
    sources: dict[str, RoleSource] = {name: role.snapshot(data[name]) for name, role in roles.items()}
    storage = ShareStorage(capacity=2**40)
    writer = BackupWriter(MemoryShare(storage, "", "calibration", lambda op: None, lambda: True),
                          load_certificate(cert_der), uuid.UUID(int=0), now, sources,
                          chunk_size=scale.SIM_CHUNK_SIZE, info=info, threads=False)
    for _ in writer.steps():
        pass
    records = [o.record for o in writer.outcomes if o.record is not None]
    return shape.Framing.of(scale.SIM_CHUNK_SIZE,
                            writer.stored_bytes - sum(r.storedBytes for r in records), records)
