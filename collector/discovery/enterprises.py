"""Who made a device, from its sysObjectID: the IANA private enterprise number after
1.3.6.1.4.1. A short table of the vendors a city data center and its network hold, not
IANA's whole registry (no download, ever): a number not listed is shown as its number."""

from __future__ import annotations

ENTERPRISES = 1, 3, 6, 1, 4, 1

# IANA private enterprise numbers (iana.org/assignments/enterprise-numbers), as the
# vendors' own MIBs use them
VENDORS: dict[int, str] = {
    2: "IBM",
    9: "Cisco",
    11: "Hewlett-Packard",
    43: "3Com",
    171: "D-Link",
    207: "Allied Telesis",
    232: "Compaq (HPE)",
    311: "Microsoft",
    318: "APC (Schneider Electric)",
    476: "Liebert (Vertiv)",
    534: "Eaton (Powerware)",
    674: "Dell",
    705: "MGE UPS Systems (Eaton)",
    789: "NetApp",
    1588: "Brocade",
    1916: "Extreme Networks",
    2011: "Huawei",
    2021: "UC Davis (ucd-snmp)",
    2636: "Juniper Networks",
    3375: "F5 Networks",
    5491: "RPS S.p.A. (Riello UPS)",
    5528: "NetBotz (APC, Schneider Electric)",
    6876: "VMware",
    8072: "Net-SNMP",
    12356: "Fortinet",
    14988: "MikroTik",
    21239: "Geist (Vertiv)",
    25461: "Palo Alto Networks",
    25506: "H3C",
    29462: "Stulz",
    30065: "Arista Networks",
}


def enterprise_number(sys_object_id: str) -> int | None:
    """The enterprise number in a sysObjectID, or None when it is not under enterprises."""
    arcs = sys_object_id.strip(".").split(".")
    if len(arcs) < 7 or tuple(arcs[:6]) != tuple(map(str, ENTERPRISES)):
        return None
    try:
        return int(arcs[6])
    except ValueError:
        return None


def vendor(sys_object_id: str) -> str:
    """'Huawei (enterprise 2011)', 'enterprise 40614 (not in tierwatch's table)', or why
    there is no enterprise number."""
    number = enterprise_number(sys_object_id)
    if number is None:
        return "not an enterprise OID" if sys_object_id else "no sysObjectID"
    name = VENDORS.get(number)
    return f"{name} (enterprise {number})" if name else \
        f"enterprise {number} (not in tierwatch's table)"
