"""Who is calling, by address: the connecting peer, or behind trusted reverse proxies the
right-most address of ``X-Forwarded-For`` that is not one of theirs.

Each proxy appends the address it received the request from, so the entries a trusted proxy
wrote are on the right and everything left of them is whatever the caller sent. Reading from the
right and stopping at the first address that is not a trusted proxy gives the last hop no caller
can choose; the left-most entry, which uvicorn's ``--forwarded-allow-ips`` takes, is the one any
caller can. uvicorn's own header handling is therefore off (``cli/processes.py``) and this is the
one place the caller's address is decided.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_address

from starlette.types import Scope

_LONGEST_ADDRESS = 45
"""An IPv6 address with an embedded IPv4 one; longer entries are not addresses."""


class TrustedProxies:
    def __init__(self, networks: Sequence[IPv4Network | IPv6Network]) -> None:
        self.networks = tuple(networks)
        self._trusted = lru_cache(maxsize=4096)(self._is_trusted)

    def _is_trusted(self, address: str) -> bool:
        try:
            parsed = ip_address(address)
        except ValueError:
            return False
        return any(parsed in network for network in self.networks)

    def caller(self, scope: Scope) -> str:
        """The caller's address; with trusted proxies, also put in ``scope["client"]`` (which
        the proxy passes on to the services as their ``X-Forwarded-For``)."""
        client = scope.get("client")
        peer: str = client[0] if client else "unknown"
        if not self.networks or not self._trusted(peer):
            return peer
        hops = [
            hop.strip()
            for name, value in scope["headers"]
            if name == b"x-forwarded-for"
            for hop in value.decode("latin-1").split(",")
        ]
        caller = peer
        for hop in reversed(hops):
            if not hop:
                continue
            if not self._trusted(hop):
                # Written by the nearest trusted proxy; an entry that is not even an address
                # is that proxy's to answer for, so the proxy stays the caller.
                if len(hop) <= _LONGEST_ADDRESS and _is_address(hop):
                    caller = hop
                break
            caller = hop
        scope["client"] = (caller, client[1] if client else 0)
        return caller


def _is_address(text: str) -> bool:
    try:
        ip_address(text)
    except ValueError:
        return False
    return True
