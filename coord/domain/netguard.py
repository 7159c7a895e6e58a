"""Which network addresses a webhook may be sent to (server-side request forgery guard).

Pure functions over IP addresses that the caller already resolved. A destination is refused
when any of its addresses is loopback, private, link-local, multicast, reserved, unspecified,
a cloud metadata address, or otherwise not globally routable, unless the address lies in one
of the operator's allowed networks (``COORD_WEBHOOK_ALLOW_CIDRS``: government intranets).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Instance metadata services (AWS, GCP, Azure, OpenStack; AWS over IPv6; Alibaba Cloud).
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)


def parse_allow_list(raw: str | Iterable[str] | None) -> list[IPNetwork]:
    """``"10.20.0.0/16, 192.168.5.7"`` -> networks; a bare address is a /32 (or /128).

    Raises ``ValueError`` naming the entry that is not a network.
    """
    if raw is None:
        return []
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    networks: list[IPNetwork] = []
    for item in items:
        item = item.strip()
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise ValueError(f"not an IP network: {item!r}") from exc
    return networks


def _plain(address: IPAddress) -> IPAddress:
    """IPv4-mapped IPv6 (``::ffff:10.0.0.1``) is judged as the IPv4 address it carries."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def address_problem(address: IPAddress | str) -> str | None:
    """Why ``address`` is not a public destination, or None if it is one."""
    ip = _plain(ipaddress.ip_address(address) if isinstance(address, str) else address)
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_reserved:
        return "a reserved address"
    if ip.is_private:
        return "a private address"
    if not ip.is_global:
        return "not a public address"
    return None


def is_allowed_network(address: IPAddress | str, allow: Sequence[IPNetwork]) -> bool:
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    candidates = {ip, _plain(ip)}
    return any(c.version == net.version and c in net for c in candidates for net in allow)


def refusal(addresses: Iterable[IPAddress | str], allow: Sequence[IPNetwork] = ()) -> str | None:
    """None if every address may be contacted; otherwise why the destination is refused.

    Every address counts, not just the first: a host name that resolves to one public and one
    private address could be connected to either.
    """
    seen = False
    for address in addresses:
        seen = True
        if is_allowed_network(address, allow):
            continue
        problem = address_problem(address)
        if problem is not None:
            return f"{address} is {problem}"
    if not seen:
        return "the host has no address"
    return None
