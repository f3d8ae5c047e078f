"""API keys: random tokens shown once, stored only as SHA-256 digests, with a scope.

A `read` key may call every GET route and `POST /match` (which stores nothing); a `write` key
may call every route. The tokens are 256 random bits, so a plain digest (no salt, no slow
hash) is enough: there is nothing to guess a dictionary over.
"""

from __future__ import annotations

import hashlib
import secrets

from prodmatch.errors import ProdmatchError
from prodmatch.registry.registry import Registry

SCOPES = ("read", "write")
PREFIX = "pm_"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def add_key(registry: Registry, scope: str, name: str = "") -> str:
    """A new key with `scope`; the token is returned once and never stored."""
    if scope not in SCOPES:
        raise ProdmatchError(f"scope must be one of {', '.join(SCOPES)}, got '{scope}'")
    token = PREFIX + secrets.token_urlsafe(32)
    with registry.lock, registry.store.write():
        registry.store.add_key(digest(token), name, scope)
    return token


def scope_of(registry: Registry, token: str | None) -> str | None:
    """The scope of a valid key, else None."""
    if not token or not token.startswith(PREFIX) or len(token) > 200:
        return None
    with registry.lock:
        return registry.store.key_scope(digest(token))


def allows(scope: str | None, needed: str) -> bool:
    return scope == "write" or (scope == "read" and needed == "read")
