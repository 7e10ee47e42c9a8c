"""Backup ids as people type them: the whole GUID, or a unique prefix of it (as restic and borg
accept), the same 8 characters the page and the progress bar show."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from ibs.engine.errors import BadInput

_HEX = set("0123456789abcdef-")
_SHOWN_AT_MOST = 5  # candidates named in the one-line error; more are counted


class AmbiguousId(BadInput):
    """A prefix that starts several ids: the one line names them (the REST API answers 400,
    not the 404 of an id that is not there)."""


def resolve_id(given: str, known: Iterable[str], what: str = "backup",
               listing: str = "ibs backup list", *, any_whole: bool = False) -> str:
    """The one id of ``known`` that ``given`` is, or starts with (case ignored); otherwise a
    one-line ``BadInput`` (exit 2) naming the candidates of an ambiguous prefix.

    With ``any_whole`` a whole GUID is taken as it is, known or not (a backup on the share that
    this store's history does not list can still be verified or restored)."""
    text = given.strip().lower()
    if not text or not set(text) <= _HEX:
        raise BadInput(f"{given!r} is not a {what} id: give the id or a unique start of it "
                       f"(hex digits; see '{listing}')")
    ids = sorted(set(known))
    try:
        whole = str(uuid.UUID(text))
    except ValueError:
        whole = None
    if whole is not None and (any_whole or whole in ids):
        return whole
    if whole is not None:
        raise BadInput(f"no {what} with id {whole}; see '{listing}'")
    matches = [i for i in ids if i.startswith(text)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise BadInput(f"no {what} id starts with {text}; see '{listing}'")
    shown = ", ".join(matches[:_SHOWN_AT_MOST])
    more = f" and {len(matches) - _SHOWN_AT_MOST} more" if len(matches) > _SHOWN_AT_MOST else ""
    raise AmbiguousId(f"{text} is the start of {len(matches)} {what} ids ({shown}{more}); "
                      "give more characters")
