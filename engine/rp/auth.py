"""The bearer token every API request must carry.

``IBS_RP_TOKEN`` wins when set. Otherwise a random token is made on the first start, printed
once (by the caller) and only its SHA-256 is kept in the store: a 256-bit random token needs
no slow hash, and the store never holds anything that grants access.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping

from ibs.engine.store import Store

ENV_TOKEN = "IBS_RP_TOKEN"
TOKEN_FILE = "rp-token.json"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class TokenCheck:
    def __init__(self, sha256_hex: str) -> None:
        self._digest = sha256_hex

    def accepts(self, authorization: str | None) -> bool:
        """True for ``Bearer <token>`` with the right token (compared in constant time)."""
        if not authorization:
            return False
        scheme, _, value = authorization.strip().partition(" ")
        value = value.strip()
        if scheme.lower() != "bearer" or not value:
            return False
        return hmac.compare_digest(digest(value), self._digest)


def load_or_create(store: Store, env: Mapping[str, str] = os.environ) -> tuple[TokenCheck, str | None]:
    """The check to apply, and the new token when one was made now (to show exactly once)."""
    if env.get(ENV_TOKEN):
        return TokenCheck(digest(env[ENV_TOKEN])), None
    saved = store.read_json(TOKEN_FILE, {}) or {}
    if isinstance(saved.get("sha256"), str) and len(saved["sha256"]) == 64:
        return TokenCheck(saved["sha256"]), None
    token = secrets.token_urlsafe(32)
    store.write_json(TOKEN_FILE, {"sha256": digest(token)})
    return TokenCheck(digest(token)), token
