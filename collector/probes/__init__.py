"""Reachability of network links and agency sites (ICMP / TCP)."""
