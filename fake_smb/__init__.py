"""fake_smb: an SMB 3 server for tests, built on impacket."""

from ibs.fake_smb.server import FakeSmbServer

__all__ = ["FakeSmbServer"]
