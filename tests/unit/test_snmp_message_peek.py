"""The two in-place readers every received datagram meets before it is decoded: the id it
answers (`peek_message_id`, which routes it on the shared socket) and whether a ScopedPDU
names our request's context (`scoped_context_is`, RFC 3412 7.2.12 b). Every datagram is
written out by hand, octet by octet (X.690 lengths, RFC 3416 / RFC 3412 layouts)."""

from __future__ import annotations

import pytest

from collector.snmp import message


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


COMMUNITY = "04067075626c6963"  # OCTET STRING "public"

PEEK = {
    "v2c, short forms": ("3010 020101" + COMMUNITY + "a203 02012a", 42),
    "v1": ("3010 020100" + COMMUNITY + "a203 02012a", 42),
    "v2c, long-form message length": ("308110 020101" + COMMUNITY + "a203 02012a", 42),
    "v2c, long-form PDU length": ("3011 020101" + COMMUNITY + "a28103 02012a", 42),
    "v2c, two-octet message length": ("30820010 020101" + COMMUNITY + "a203 02012a", 42),
    "a trap's PDU tag": ("3010 020101" + COMMUNITY + "a703 02012a", 42),
    "negative id": ("3010 020101" + COMMUNITY + "a203 0201ff", -1),
    "four-octet id": ("3013 020101" + COMMUNITY + "a206 02047fffffff", 2**31 - 1),
    "five-octet id": ("3014 020101" + COMMUNITY + "a207 020500ffffffff", 2**32 - 1),
    "six-octet id": ("3015 020101" + COMMUNITY + "a208 02060000000000ff", None),
    "empty id": ("300f 020101" + COMMUNITY + "a202 0200", None),
    "id not an INTEGER": ("3010 020101" + COMMUNITY + "a203 04012a", None),
    "PDU not context-class": ("3010 020101" + COMMUNITY + "3003 02012a", None),
    "community in long form": ("3011 020101 0481067075626c6963 a203 02012a", None),
    "community not an OCTET STRING": ("3010 020101 02067075626c6963 a203 02012a", None),
    "version of two octets": ("3011 02020001" + COMMUNITY + "a203 02012a", None),
    "version not an INTEGER": ("3010 040101" + COMMUNITY + "a203 02012a", None),
    "unknown version 2": ("3010 020102" + COMMUNITY + "a203 02012a", None),
    "not a SEQUENCE": ("3110 020101" + COMMUNITY + "a203 02012a", None),
    "cut inside the id": ("3010 020101" + COMMUNITY + "a203 0201", None),
    "cut before the PDU": ("3010 020101" + COMMUNITY, None),
    "empty": ("", None),
    # v3: msgVersion 3, msgGlobalData SEQUENCE { msgID ... }
    "v3": ("300a 020103 3005 020301e240", 123456),
    "v3, long-form global data": ("300b 020103 308105 020301e240", 123456),
    "v3, global data not a SEQUENCE": ("300a 020103 3105 020301e240", None),
    "v3, msgID not an INTEGER": ("300a 020103 3005 040301e240", None),
}


@pytest.mark.parametrize(("octets", "msg_id"), PEEK.values(), ids=PEEK.keys())
def test_peek_message_id(octets: str, msg_id: int | None) -> None:
    assert message.peek_message_id(h(octets)) == msg_id


ENGINE = "0407 80001f8804 7477"  # contextEngineID: 80 00 1f 88 04 't' 'w'
HEAD = h(ENGINE + "0400")  # and an empty contextName, as our request carries them
PDU = "a203 020101"

CONTEXTS = {
    "the same, short forms": ("3010" + ENGINE + "0400" + PDU, True),
    "the same, long-form SEQUENCE": ("308110" + ENGINE + "0400" + PDU, True),
    "the same values, long-form OCTET STRINGs": (
        "3012 048107 80001f88047477 048100" + PDU, True),
    "another contextName": ("3011" + ENGINE + "040161" + PDU, False),
    "another contextEngineID": ("3010 0407 80001f88047478 0400" + PDU, False),
    "another engine, long forms": ("3012 048107 80001f88047478 048100" + PDU, False),
    "another name, long forms": ("3013 048107 80001f88047477 04810161" + PDU, False),
    "not a SEQUENCE": ("3110" + ENGINE + "0400" + PDU, False),
    "cut short": ("3010" + ENGINE, False),
    "empty": ("", False),
}


@pytest.mark.parametrize(("octets", "same"), CONTEXTS.values(), ids=CONTEXTS.keys())
def test_scoped_context_is(octets: str, same: bool) -> None:
    assert message.scoped_context_is(h(octets), HEAD) is same
