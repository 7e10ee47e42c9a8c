"""What a simulated hub is made of before it runs: its configuration and its file server.

Plain data; the hub (simulator/hub.py) brings it to life.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass, field

from ibs.engine.errors import BadInput
from ibs.simulator import scale
from ibs.simulator.clock import SIM_EPOCH
from ibs.simulator.network import Link
from ibs.simulator.profiles import HubProfile

SHARE_HOST = "backupshare.contoso.local"
SHARE_NAME = "backup"
SHARE_FOLDER = "stamp1"
SHARE_USER = "svc-azsbackup"
SHARE_PATH = rf"\\{SHARE_HOST}\{SHARE_NAME}\{SHARE_FOLDER}"
DIALECTS = ("2.0.2", "2.1", "3.0", "3.0.2", "3.1.1")

#: Seconds a job spends snapshotting each role before its data moves. With ten roles and the
#: default 100 MB/s link, a 20 GB backup takes 23 min 20 s: the real service's jobs take 20 to
#: 40 minutes under reasonable load (REFERENCE.md), an ASDK's 10 GB 21 min 40 s.
ROLE_SNAPSHOT_SECONDS = 120.0


@dataclass
class HubConfig:
    profile: HubProfile
    seed: int = 1
    fidelity: str = "sim"
    frequency_hours: int = 12
    retention_days: int = 7
    scheduler: bool = True
    share_capacity_bytes: int = 10_000 * scale.GB  # modelled
    share_used_bytes: int = 0  # modelled: other data already on the share when backup starts
    link: Link = field(default_factory=Link)
    start: dt.datetime = SIM_EPOCH
    tenant_change_every_hours: float = 1.0
    role_overhead_seconds: float = ROLE_SNAPSHOT_SECONDS
    smb_timeout_seconds: int = 2  # wire fidelity: how long a dropped port takes to fail, for real

    def __post_init__(self) -> None:
        if self.fidelity not in ("sim", "wire"):
            raise BadInput(f"fidelity must be 'sim' or 'wire', not {self.fidelity!r}")
        if self.share_capacity_bytes <= 0:
            raise BadInput("the share's capacity must be more than 0 GB")
        check_share_used(self.share_used_bytes / scale.GB, self.share_capacity_bytes / scale.GB)


@dataclass
class ServerModel:
    """The SMB file server as the world sees it (the wire fidelity mirrors it onto fake_smb)."""

    users: dict[str, str]
    encryption: str = "desired"
    max_dialect: str = "3.1.1"
    shares: set[str] = field(default_factory=lambda: {SHARE_NAME})
    up: bool = True


def check_share_used(used_gb: float, capacity_gb: float | None) -> None:
    """Other data may take from 0 GB up to, not including, the share's whole capacity: the one
    rule for ``ibs sizing``, ``ibs simulate`` and a scenario's [settings]."""
    if (isinstance(used_gb, bool) or not isinstance(used_gb, int | float)
            or not math.isfinite(used_gb) or used_gb < 0):
        raise BadInput(f"the space already used on the share must be 0 GB or more, got "
                       f"{used_gb!r}")
    if capacity_gb is not None and used_gb >= capacity_gb:
        raise BadInput(f"the space already used on the share ({used_gb:g} GB) must be less "
                       f"than its capacity ({capacity_gb:g} GB)")


def initial_share_password(seed: int) -> str:
    """The share account's password at the start of a run with ``seed``."""
    return f"pw-{seed}-{random.Random(f'share-password:{seed}').getrandbits(48):012x}"
