"""The decoder's bounds, byte by byte: a TLV that overruns its parent by a single octet, a
zero-length INTEGER, a varbind with bytes after its value, a 5-octet Counter32 above
2**32-1. Every packet here is written out by hand (X.690 8.1.3 lengths, 8.3 INTEGER,
RFC 2578 Counter32), and the decoder's answer is the one written beside it; none comes from
the encoder under test.

The walk's hot loop (`native_engine._absorb`) decodes varbinds in place, apart from
`ber.decode_varbinds`: both are held to the same table.
"""

from __future__ import annotations

import pytest

from collector.snmp import ber, native_engine
from collector.snmp.client import SnmpDecodeError

# ------------------------------------------------------------------ a TLV inside its parent

# (octets, parent end, what read_tlv answers: (tag, content start, content end) or None
# for "refused"). The parent ends at `end`; the octets after it belong to someone else.
READ_TLV = {
    "short form, fits exactly": ("020201ff", 4, (0x02, 2, 4)),
    "short form, one octet past the parent": ("020201ff", 3, None),
    "long form 0x81, fits exactly": ("0481036162 63", 6, (0x04, 3, 6)),
    "long form 0x81, one octet past the parent": ("0481036162 63", 5, None),
    "long form 0x82, fits exactly": ("04820002 6162", 6, (0x04, 4, 6)),
    "long form 0x82, one octet past the parent": ("04820002 6162", 5, None),
    "long form 0x83, one octet past the parent": ("0483000002 6162", 6, None),
    "empty content at the very end": ("0400", 2, (0x04, 2, 2)),
}


@pytest.mark.parametrize(("octets", "end", "expected"), READ_TLV.values(), ids=READ_TLV.keys())
def test_a_tlv_may_not_overrun_its_parent_by_one_octet(
    octets: str, end: int, expected: tuple[int, int, int] | None
) -> None:
    data = bytes.fromhex(octets.replace(" ", ""))
    if expected is None:
        with pytest.raises(SnmpDecodeError):
            ber.read_tlv(data, 0, end)
    else:
        assert ber.read_tlv(data, 0, end) == expected


# The readers that take a short form in place must refuse the same overrun.
def test_typed_readers_refuse_a_value_one_octet_past_the_parent() -> None:
    # SEQUENCE of 3 octets holding an INTEGER that claims 2 content octets: 02 02 05 | 07
    seq = bytes.fromhex("3003020205" "07")
    start, stop = ber.expect(seq, 0, len(seq), ber.SEQUENCE)
    assert (start, stop) == (2, 5)
    with pytest.raises(SnmpDecodeError):
        ber.read_integer(seq, start, stop)
    with pytest.raises(SnmpDecodeError):
        ber.expect(seq, start, stop, ber.INTEGER)
    octets = bytes.fromhex("3003040261" "62")  # an OCTET STRING of 2 in a parent of 3
    with pytest.raises(SnmpDecodeError):
        ber.read_octets(octets, 2, 5)
    # and the same octets with the parent one longer are read whole
    assert ber.read_integer(seq, 2, 6) == (0x0507, 6)
    assert ber.read_octets(octets, 2, 6) == (b"ab", 6)


# ------------------------------------------------------------------ INTEGER sizes

@pytest.mark.parametrize(
    ("octets", "value"),
    [
        ("0200", None),  # no content octet: X.690 8.3.1 wants at least one
        ("020100", 0),
        ("0201ff", -1),
        ("02087fffffffffffffff", 2**63 - 1),
        ("0209000000000000000001", None),  # 9 octets: more than any SNMP integer needs
    ],
)
def test_read_integer_sizes(octets: str, value: int | None) -> None:
    data = bytes.fromhex(octets)
    if value is None:
        with pytest.raises(SnmpDecodeError):
            ber.read_integer(data, 0, len(data))
    else:
        assert ber.read_integer(data, 0, len(data)) == (value, len(data))


# ------------------------------------------------------------------ varbinds

# ifInOctets (1.3.6.1.2.1.2.2.1.10) and its rows .1 and .2, as OID TLVs
ROOT = "1.3.6.1.2.1.2.2.1.10"
ROW1 = "060a2b060102010202010a01"  # 06 len 10, 1.3 -> 0x2b, 6 1 2 1 2 2 1 10 1
ROW2 = "060a2b060102010202010a02"
ROW1_OCTETS = bytes.fromhex(ROW1)[2:]

# (VarBindList content, the rows decoded as (suffix under ROOT, value), or None: refused)
VARBINDS = {
    "Counter32 2**32-1 on 5 octets": ("3013" + ROW1 + "410500ffffffff", [("1", 2**32 - 1)]),
    "Counter32 2**32 on 5 octets": ("3013" + ROW1 + "41050100000000", None),
    "Gauge32 0xff00000000 on 5 octets": ("3013" + ROW1 + "4205ff00000000", None),
    "Counter32 of 6 octets": ("3014" + ROW1 + "4106000000000001", None),
    "Counter32 of one octet": ("300f" + ROW1 + "410105", [("1", 5)]),
    "INTEGER of 2 octets": ("3010" + ROW1 + "0202ff38", [("1", -200)]),
    "zero-length INTEGER": ("300e" + ROW1 + "0200", None),
    "zero-length INTEGER then a good row": ("300e" + ROW1 + "0200" + "300f" + ROW2 + "020107",
                                            None),
    # the first varbind's SEQUENCE (0x20 octets) holds its value and then a whole second
    # varbind: read as two rows, the packet would say what it does not
    "a varbind hidden after a value": ("3020" + ROW1 + "410105" + "300f" + ROW2 + "410107",
                                       None),
    "one stray octet after the value": ("3010" + ROW1 + "410105" + "00", None),
    "two rows, each exact": ("300f" + ROW1 + "410105" + "300f" + ROW2 + "410107",
                             [("1", 5), ("2", 7)]),
}


def _rows_by_decode_varbinds(data: bytes) -> list[tuple[str, object]]:
    out = []
    for name, value in ber.decode_varbinds(data, 0, len(data)):
        text = ber.oid_to_str(name)
        assert text.startswith(ROOT + ".")
        out.append((text[len(ROOT) + 1:], value))
    return out


def _rows_by_absorb(data: bytes) -> list[tuple[str, object]]:
    column = native_engine._Column(ROOT)
    taken, seen = native_engine._absorb(data, 0, len(data), [column])
    assert taken == seen == len(column.rows)
    return list(column.rows)


@pytest.mark.parametrize("decode", [_rows_by_decode_varbinds, _rows_by_absorb],
                         ids=["decode_varbinds", "walk fast path"])
@pytest.mark.parametrize(("octets", "rows"), VARBINDS.values(), ids=VARBINDS.keys())
def test_varbinds_table(decode, octets: str, rows: list[tuple[str, object]] | None) -> None:
    data = bytes.fromhex(octets)
    if rows is None:
        with pytest.raises(SnmpDecodeError):
            decode(data)
    else:
        assert decode(data) == rows


def test_a_varbind_may_not_overrun_its_list_by_one_octet() -> None:
    one = bytes.fromhex("300f" + ROW1 + "410105")
    for decode_list in (ber.decode_varbinds,
                        lambda d, p, e: native_engine._absorb(d, p, e,
                                                              [native_engine._Column(ROOT)])):
        # the list is one octet shorter than its only varbind; the octet is in the buffer
        with pytest.raises(SnmpDecodeError):
            decode_list(one, 0, len(one) - 1)
    assert ber.decode_varbinds(one, 0, len(one)) == [(ROW1_OCTETS, 5)]
