"""SMB 2/3 dialect names and their wire codes (MS-SMB2 2.2.3, DialectRevision)."""

from __future__ import annotations

# Ordered lowest to highest: the negotiation picks the highest common dialect.
DIALECTS: dict[str, int] = {
    "2.0.2": 0x0202,
    "2.1": 0x0210,
    "3.0": 0x0300,
    "3.0.2": 0x0302,
    "3.1.1": 0x0311,
}

SMB_2_0_2 = 0x0202
SMB_2_1 = 0x0210
SMB_3_0 = 0x0300
SMB_3_0_2 = 0x0302
SMB_3_1_1 = 0x0311


def dialect_code(name: str) -> int:
    """Return the wire code for a dialect written like "3.1.1"; ValueError otherwise."""
    try:
        return DIALECTS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown SMB dialect {name!r}: use one of {', '.join(DIALECTS)}"
        ) from None


def check_range(min_dialect: str, max_dialect: str) -> tuple[int, int]:
    """Validate a [min, max] dialect window and return it as wire codes."""
    low, high = dialect_code(min_dialect), dialect_code(max_dialect)
    if low > high:
        raise ValueError(
            f"min dialect {min_dialect} is above max dialect {max_dialect}"
        )
    return low, high
