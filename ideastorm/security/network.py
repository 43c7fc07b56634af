"""Client networks, kept instead of addresses: enough to see many accounts from one network,
not enough to name a household."""

from __future__ import annotations

import ipaddress

IPV4_PREFIX = 24
IPV6_PREFIX = 48


def network_prefix(address: str | None) -> str | None:
    """``203.0.113.7`` -> ``203.0.113.0/24``, ``2001:db8:1:2::5`` -> ``2001:db8:1::/48``; None if not an address."""
    if not address:
        return None
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return None
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    prefix = IPV4_PREFIX if ip.version == 4 else IPV6_PREFIX
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))
