"""SNMP traps and informs: received, checked, mapped to device statuses."""
