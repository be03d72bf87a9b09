"""The dedicated network's health: link load and errors from interface counters, LLDP checked
against the declared topology (docs/network-health.md)."""
