"""The frames between the service and its poll workers (collector/snmp/wire.py): what goes in
comes out, value types and row label sharing included; every broken frame is refused with a
WireError, never another exception."""

from __future__ import annotations

import contextlib
import math
import struct

import pytest

from collector.snmp.wire import (
    HEADER,
    MAX_FRAME,
    MAX_MESSAGE,
    WIRE_VERSION,
    Hello,
    Kind,
    ResultDecoder,
    ResultEncoder,
    WireError,
    decode_config,
    decode_hello,
    decode_poll,
    decode_profiles,
    decode_skipped,
    decode_stats,
    encode_config,
    encode_hello,
    encode_poll,
    encode_profiles,
    encode_skipped,
    encode_stats,
    frame,
    parse_header,
    split_frames,
)
from tierwatch.core.model import ComponentStatus, MetricMeta, PollResult, Sample, Status

TS = 1_800_000_000.25
META = {"if_in_octets": MetricMeta("counter", "Octets in (ifHCInOctets)"),
        "if_oper_status": MetricMeta("gauge", "Operational status (1=up, 2=down)"),
        "ups_battery_temperature_celsius": MetricMeta("gauge", "Nhiệt độ ắc quy")}


def _poll(values: tuple[float, float, float, float, float], rows: int = 2,
          components: list[ComponentStatus] | None = None,
          roles: dict[str, float] | None = None) -> PollResult:
    """Two table rows (each one labels dict, as PollPlan hands them out) and a scalar."""
    base = {"device": "ups-a", "phòng": "Phòng máy 1"}
    row_labels = [{**base, "ifName": f"Gi0/{i}", "ifAlias": 'uplink "A"\\n'}
                  for i in range(1, rows + 1)]
    samples = []
    for i, labels in enumerate(row_labels[:2]):
        samples.append(Sample("if_in_octets", labels, values[2 * i], TS))
        samples.append(Sample("if_oper_status", labels, values[2 * i + 1], TS))
    for labels in row_labels[2:]:
        samples.append(Sample("if_in_octets", labels, 7, TS))
        samples.append(Sample("if_oper_status", labels, 1, TS))
    samples.append(Sample("ups_battery_temperature_celsius", base, values[4], TS))
    return PollResult("ups-a", TS, 0.0123, samples,
                      components if components is not None else [
                          ComponentStatus("device", Status.OK, "all components ok"),
                          ComponentStatus("ups", Status.DEGRADED, "trên ắc quy",
                                          frozenset({"on_battery", "battery_low"})),
                          ComponentStatus("Gi0/2", Status.FAILED, "down", rollup=False)],
                      varbinds=9, roles=roles if roles is not None else {"uptime": 12345.67},
                      metadata=META)


def _same_samples(got: list[Sample], want: list[Sample]) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert (g.name, dict(g.labels), g.ts) == (w.name, dict(w.labels), w.ts)
        assert type(g.value) is type(w.value)  # /metrics writes an int with %d, a float not
        assert g.value == w.value or (math.isnan(g.value) and math.isnan(w.value))


def _payload(data: bytes) -> bytes:
    ((kind, payload),) = split_frames(data)
    assert kind is Kind.RESULT
    return payload


def test_a_result_comes_back_as_it_went() -> None:
    # values of every kind the packed form carries: a Counter64 near its top (u64), a
    # negative Integer32 (i64), a float, NaN and -Inf
    want = _poll((2**64 - 1, -5, 0.5, math.nan, -math.inf))
    tag, got = ResultDecoder(["other", "ups-a"]).decode(_payload(ResultEncoder().encode(
        1, want, tag=7)))
    assert tag == 7
    assert got.device == "ups-a"  # position 1 of the share
    assert (got.ts, got.duration, got.varbinds, got.error, got.message) == (
        TS, 0.0123, 9, None, "")
    _same_samples(got.samples, want.samples)
    assert got.components == want.components
    assert got.roles == {"uptime": 12345.67}
    assert got.metadata == META
    # the two samples of a row share one labels dict, as the poller's do
    assert got.samples[0].labels is got.samples[1].labels
    assert got.samples[0].labels is not got.samples[2].labels


def test_the_next_poll_sends_only_values_and_reuses_the_rows_labels() -> None:
    encoder, decoder = ResultEncoder(), ResultDecoder(["ups-a"])
    first = encoder.encode(0, _poll((1, 1, 2, 1, 30.5)))
    _, one = decoder.decode(_payload(first))
    second = encoder.encode(0, _poll((11, 2, 12, 1, 31.0)))
    _, two = decoder.decode(_payload(second))
    # same shape, same components: the frame is the header, the empty error and message,
    # the shape id, the roles and 5 packed values: 8 + 29 + 1 + 2 + 4 + 2 + (1 + 6 + 8) +
    # 4 + (8 + 8 + 8 + 8 + 8) octets
    assert len(second) == 8 + 29 + 1 + 2 + 4 + 2 + 15 + 4 + 40
    assert len(first) > 3 * len(second)
    assert [s.value for s in two.samples] == [11, 2, 12, 1, 31.0]
    assert two.components == one.components
    # the exposition's templates compare labels by identity: unchanged rows keep theirs
    assert all(a.labels is b.labels for a, b in zip(one.samples, two.samples, strict=True))


def test_a_new_row_sends_a_new_shape() -> None:
    encoder, decoder = ResultEncoder(), ResultDecoder(["ups-a"])
    decoder.decode(_payload(encoder.encode(0, _poll((1, 1, 2, 1, 30.5)))))
    want = _poll((1, 1, 2, 1, 30.5), rows=3)
    _, got = decoder.decode(_payload(encoder.encode(0, want)))
    _same_samples(got.samples, want.samples)
    assert len(got.samples) == 7


def test_values_the_packed_form_cannot_carry_go_as_text() -> None:
    want = _poll((2**70, 1, 2, 1, 0.1))  # beyond 64 bits
    want.samples[3] = want.samples[3]._replace(ts=TS - 1)  # a sample with its own time
    _, got = ResultDecoder(["ups-a"]).decode(_payload(ResultEncoder().encode(0, want)))
    _same_samples(got.samples, want.samples)


def test_a_failed_poll_keeps_its_reason_and_a_bounded_message() -> None:
    encoder, decoder = ResultEncoder(), ResultDecoder(["ups-a"])
    ok = _poll((1, 1, 2, 1, 30.5))
    decoder.decode(_payload(encoder.encode(0, ok)))
    failed = PollResult("ups-a", TS + 30, 2.5, error="timeout",
                        message="không trả lời " + "x" * 5000, components=ok.components)
    _, got = decoder.decode(_payload(encoder.encode(0, failed)))
    assert (got.error, got.samples, got.duration) == ("timeout", [], 2.5)
    assert got.message.startswith("không trả lời xx")
    assert len(got.message.encode()) == MAX_MESSAGE
    assert got.components == ok.components  # not sent again, the same as the last ones


def test_the_small_frames_round_trip() -> None:
    def one(data: bytes) -> tuple[Kind, bytes]:
        ((kind, payload),) = split_frames(data)
        return kind, payload

    kind, payload = one(encode_hello(4242, 3))
    assert kind is Kind.HELLO and decode_hello(payload) == Hello(pid=4242, index=3)
    kind, payload = one(encode_poll(9, 17))
    assert kind is Kind.POLL and decode_poll(payload) == (9, 17)
    kind, payload = one(encode_skipped(2, 5))
    assert kind is Kind.SKIPPED and decode_skipped(payload) == (2, 5)
    kind, payload = one(encode_profiles(1, ["system", "if-mib"]))
    assert kind is Kind.PROFILES and decode_profiles(payload) == (1, ["system", "if-mib"])
    kind, payload = one(encode_stats({"sent": 2**40, "received": 3, "bad_digest": 0}))
    assert kind is Kind.STATS
    assert decode_stats(payload) == {"sent": 2**40, "received": 3, "bad_digest": 0}
    kind, payload = one(encode_config({"index": 1, "devices": [{"id": "ups-á"}]}))
    assert kind is Kind.CONFIG and decode_config(payload) == {"index": 1,
                                                              "devices": [{"id": "ups-á"}]}


# ------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(("head", "reason"), [
    (struct.pack("<BBHI", WIRE_VERSION + 1, Kind.RESULT, 0, 10), "wrong_version"),
    (struct.pack("<BBHI", 0, Kind.RESULT, 0, 10), "wrong_version"),
    (struct.pack("<BBHI", WIRE_VERSION, 99, 0, 10), "unknown_kind"),
    (struct.pack("<BBHI", WIRE_VERSION, Kind.RESULT, 1, 10), "malformed"),
    (struct.pack("<BBHI", WIRE_VERSION, Kind.RESULT, 0, MAX_FRAME + 1), "oversized"),
    (struct.pack("<BBHI", WIRE_VERSION, Kind.RESULT, 0, 10)[:7], "truncated"),
])
def test_a_bad_header_is_refused(head: bytes, reason: str) -> None:
    with pytest.raises(WireError) as caught:
        parse_header(head)
    assert caught.value.reason == reason


def test_an_oversized_frame_is_not_made() -> None:
    with pytest.raises(WireError) as caught:
        frame(Kind.RESULT, bytes(MAX_FRAME + 1))
    assert caught.value.reason == "oversized"


def test_a_frame_shorter_than_it_says_is_refused() -> None:
    data = encode_poll(1, 2)
    with pytest.raises(WireError) as caught:
        split_frames(data[:-1])
    assert caught.value.reason == "truncated"


def test_every_cut_of_a_result_is_refused() -> None:
    payload = _payload(ResultEncoder().encode(0, _poll((1, -2, 3.5, 4, 5))))
    for end in range(len(payload)):
        with pytest.raises(WireError):
            ResultDecoder(["ups-a"]).decode(payload[:end])
    with pytest.raises(WireError) as caught:
        ResultDecoder(["ups-a"]).decode(payload + b"\x00")
    assert caught.value.reason == "malformed"


def test_every_flipped_octet_is_refused_or_decodes() -> None:
    payload = _payload(ResultEncoder().encode(0, _poll((1, -2, 3.5, 4, 5))))
    for i in range(len(payload)):
        for flip in (0x01, 0x80, 0xFF):
            broken = bytearray(payload)
            broken[i] ^= flip
            # refused, as it should be, or decoded; anything else fails the test
            with contextlib.suppress(WireError):
                ResultDecoder(["ups-a"]).decode(bytes(broken))


def test_a_result_for_a_device_outside_the_share_is_refused() -> None:
    payload = _payload(ResultEncoder().encode(2, _poll((1, 1, 1, 1, 1.0))))
    with pytest.raises(WireError) as caught:
        ResultDecoder(["a", "b"]).decode(payload)  # positions 0 and 1 only
    assert caught.value.reason == "unknown_device"


def test_values_for_a_shape_never_sent_are_refused() -> None:
    encoder = ResultEncoder()
    encoder.encode(0, _poll((1, 1, 1, 1, 1.0)))  # this frame is lost
    second = encoder.encode(0, _poll((2, 1, 2, 1, 1.5)))
    with pytest.raises(WireError) as caught:
        ResultDecoder(["ups-a"]).decode(_payload(second))  # a new worker's decoder
    assert caught.value.reason == "unknown_shape"


def test_a_string_that_is_not_utf8_is_refused() -> None:
    ((_, data),) = split_frames(encode_profiles(0, ["system"]))
    payload = bytearray(data)
    payload[-1] = 0xFF  # "syste\xff"
    with pytest.raises(WireError) as caught:
        decode_profiles(bytes(payload))
    assert caught.value.reason == "malformed"


def test_a_count_beyond_the_payload_is_refused_before_anything_is_built() -> None:
    # 65,535 profile names announced in a 6-octet payload
    payload = struct.pack("<IH", 0, 0xFFFF)
    with pytest.raises(WireError) as caught:
        decode_profiles(payload)
    assert caught.value.reason == "malformed"
    assert HEADER.size == 8
