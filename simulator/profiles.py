"""Hub profiles: ASDK or 4 to 16 nodes, identity mode, stamp version, and the modelled backup size.

Sizes are REFERENCE.md's: 20 GB per backup for 4-16 nodes (ADFS, or any build before 1907),
10 GB for the ASDK, 1 GB for 4-16 nodes with Azure AD from build 1907.
"""

from __future__ import annotations

from dataclasses import dataclass

from ibs.engine.errors import BadInput
from ibs.simulator.growth import NONE, Growth
from ibs.simulator.scale import GB

IDENTITIES = ("ADFS", "AzureAD")

#: Releases in order; a backup restores into the same release or the next one (REFERENCE.md).
RELEASES = ("1.1906", "1.1907", "1.1908", "1.2002", "1.2005", "1.2008", "1.2102", "1.2108",
            "1.2206", "1.2301", "1.2306", "1.2311", "1.2406", "1.2408", "1.2501")
DEFAULT_VERSION = "1.2408.1.50"


def release_of(version: str) -> str:
    parts = version.split(".")
    release = ".".join(parts[:2])
    if release not in RELEASES:
        raise BadInput(f"unknown stamp version {version!r}; releases known: {', '.join(RELEASES)}")
    return release


def release_index(version: str) -> int:
    return RELEASES.index(release_of(version))


@dataclass(frozen=True)
class HubProfile:
    nodes: int  # 1 for the ASDK
    identity: str = "ADFS"
    version: str = DEFAULT_VERSION
    growth: Growth = NONE  # how its backups grow (simulator/growth.py)
    size_bytes: int | None = None  # a backup's modelled size at day 0, instead of the kind's

    def __post_init__(self) -> None:
        if self.nodes != 1 and not 4 <= self.nodes <= 16:
            raise BadInput(f"a hub has 4 to 16 nodes (or is an ASDK), not {self.nodes}")
        if self.identity not in IDENTITIES:
            raise BadInput(f"identity must be one of {', '.join(IDENTITIES)}, not {self.identity!r}")
        release_of(self.version)
        if self.size_bytes is not None and self.size_bytes <= 0:
            raise BadInput(f"a backup's size must be more than 0 bytes, not {self.size_bytes}")

    @property
    def asdk(self) -> bool:
        return self.nodes == 1

    @property
    def name(self) -> str:
        return "asdk" if self.asdk else f"{self.nodes}-node"

    def backup_bytes_on_day(self, day: int) -> int:
        """Modelled size of a backup written on whole day ``day`` (0 = backup enabled)."""
        return self.growth.size_on_day(self.backup_bytes, day)

    @property
    def backup_bytes(self) -> int:
        """Modelled size of one backup at day 0 (REFERENCE.md, Sizing)."""
        if self.size_bytes is not None:
            return self.size_bytes
        if self.asdk:
            return 10 * GB
        if self.identity == "AzureAD" and release_index(self.version) >= RELEASES.index("1.1907"):
            return 1 * GB
        return 20 * GB


def parse_hub(spec: str, **kw) -> HubProfile:
    """``asdk`` or a node count ``4``..``16``."""
    if spec.lower() == "asdk":
        return HubProfile(nodes=1, **kw)
    try:
        nodes = int(spec)
    except ValueError:
        raise BadInput(f"--hub must be 'asdk' or a node count from 4 to 16, not {spec!r}") from None
    return HubProfile(nodes=nodes, **kw)
