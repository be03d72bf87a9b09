"""The .snmprec reader the simulator serves from; it lives in the collector
(collector/snmprec.py), which also reads recorded walks for `tierwatch profile test`."""

from collector.snmprec import COUNTER_WRAP, TAGS, Entry, SnmprecError, load, parse_line

__all__ = ["COUNTER_WRAP", "TAGS", "Entry", "SnmprecError", "load", "parse_line"]
