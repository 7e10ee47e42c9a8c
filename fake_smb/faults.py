"""Fault hooks a test or scenario flips on a running server.

Plain attributes, read by the connection loop and the WRITE handler on every
request, so a change takes effect on the next request.
"""

from __future__ import annotations

from dataclasses import dataclass


class DropConnection(Exception):
    """Raised by a handler to make the connection loop cut the TCP connection."""


@dataclass
class Faults:
    # SESSION_SETUP answers STATUS_LOGON_FAILURE whatever the credentials.
    refuse_logons: bool = False
    # Once a connection has moved this many bytes (requests in + responses out)
    # the server stops answering it and silently swallows what it receives,
    # like a hung link; None disables.
    stall_after_bytes: int | None = None
    # A WRITE stores the first half of its data, then the connection is cut.
    drop_mid_write: bool = False
    # Seconds every WRITE waits before it is carried out.
    write_delay: float = 0.0

    def clear(self) -> None:
        self.refuse_logons = False
        self.stall_after_bytes = None
        self.drop_mid_write = False
        self.write_delay = 0.0
