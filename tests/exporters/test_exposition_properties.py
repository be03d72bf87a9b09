"""/metrics' templates against the plain loop, over random histories of polls.

`StateRenderer` keeps text templates across scrapes and fills them with `%`; whatever the
state went through (series that come and go, labels that move, values that turn from int to
float, NaN and ±Inf, failed and skipped polls, devices removed, added and reordered, label
values holding `%`, quotes, newlines, Vietnamese), each scrape must be byte for byte what
the independent reference (tests/helpers/exposition_reference.py, which shares no
formatting code with the renderer) writes line by line, and must parse as the text format.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from exporters.state_exposition import StateRenderer
from tests.helpers.exposition_reference import reference_exposition, shortest_float, value_text
from tierwatch.core.model import ComponentStatus, MetricMeta, PollResult, Sample, Status
from tierwatch.core.state import State

DEVICES = ["sw1", "ups-2", 'odd"id']
NAMES = ["if_in_octets_total", "if_oper_status", "ups_load_ratio", "temp_celsius"]
TEXTS = ["Gi1/0/1", "100%", "%d %s %%", 'say "hi"', "back\\slash", "two\nlines",
         "Tầng 3 — phòng máy", "nul\x00byte", ""]
META = {
    "if_in_octets_total": MetricMeta("counter", "Octets in (100% of them)"),
    "if_oper_status": MetricMeta("gauge", "Oper status\nup=1"),
    "ups_load_ratio": MetricMeta("stateset", ""),
}

values = st.one_of(
    st.integers(-(2**64), 2**64),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e15, -1e15, 1e16, 2.5, 1e-7]),
    st.booleans(),
)


@st.composite
def polls(draw: st.DrawFn) -> PollResult:
    device = draw(st.sampled_from(DEVICES))
    # a few rows per poll; samples of a row share its labels dict, as PollPlan makes them,
    # and some rows reuse one dict across polls (ROWS), as PollPlan does for unchanged rows
    rows: list[dict[str, str]] = []
    for _ in range(draw(st.integers(0, 3))):
        if draw(st.booleans()):
            rows.append(ROWS.setdefault((device, draw(st.integers(0, 2))),
                                        {"device": device, "port": draw(st.sampled_from(TEXTS))}))
        else:
            rows.append({"device": device, "if_alias": draw(st.sampled_from(TEXTS))})
    samples = [Sample(draw(st.sampled_from(NAMES)), draw(st.sampled_from(rows)),
                      draw(values), 1.0)
               for _ in range(draw(st.integers(0, 8))) if rows]
    components = [ComponentStatus(draw(st.sampled_from(["ups", "port 1", "nhiệt độ %"])),
                                  draw(st.sampled_from(list(Status))))
                  for _ in range(draw(st.integers(0, 2)))]
    return PollResult(device, draw(st.floats(0, 2e9)), draw(st.floats(0, 5)),
                      samples, components, varbinds=len(samples),
                      metadata=draw(st.sampled_from([META, {}])))


ROWS: dict[tuple[str, int], dict[str, str]] = {}

steps = st.lists(st.one_of(
    polls(),
    st.tuples(st.just("fail"), st.sampled_from(DEVICES), st.sampled_from(["timeout", "auth"])),
    st.tuples(st.just("skip"), st.sampled_from(DEVICES)),
    st.tuples(st.just("devices"), st.permutations(DEVICES).flatmap(
        lambda order: st.integers(0, len(order)).map(lambda n: order[:n]))),
    st.just("scrape"),
), max_size=25)


@settings(max_examples=300, deadline=None)
@given(steps)
def test_every_scrape_equals_the_line_by_line_rendering(history: list[Any]) -> None:
    state = State(DEVICES, unreachable_after=2)
    renderer = StateRenderer()
    ts = 10.0
    for step in history:
        if isinstance(step, PollResult):
            if step.device in state.devices:
                state.update(step)
        elif step == "scrape":
            pass
        elif step[0] == "fail":
            ts += 1
            if step[1] in state.devices:
                state.update(PollResult(step[1], ts, error=step[2], message="no answer"))
        elif step[0] == "skip":
            if step[1] in state.devices:
                state.count_skipped(step[1])
        else:
            state.set_devices(step[1])
        answer = renderer.render(state.devices)
        assert answer == reference_exposition(state.devices)
    text = renderer.render(state.devices).decode()
    families = list(text_string_to_metric_families(text))
    assert len({f.name for f in families}) == len(families)  # each family once, together


def test_a_poll_with_the_same_series_reuses_the_template_and_one_with_new_series_does_not(
) -> None:
    state = State(["a"])
    renderer = StateRenderer()
    labels = {"device": "a", "if_name": "Gi1/0/1"}

    def poll(value: float, series_labels: dict[str, str]) -> bytes:
        state.update(PollResult("a", 1.0, 0.1, [Sample("x_total", series_labels, value, 1.0)],
                                metadata=META))
        return renderer.render(state.devices)

    first = poll(1, labels)
    template = renderer._devices["a"].template
    assert b'x_total{device="a",if_name="Gi1/0/1"} 1\n' in first
    second = poll(2**64 + 1, labels)
    assert renderer._devices["a"].template is template
    assert b'x_total{device="a",if_name="Gi1/0/1"} 18446744073709551617\n' in second
    third = poll(2.5, {"device": "a", "if_name": "Gi1/0/2"})
    assert renderer._devices["a"].template is not template
    assert b'x_total{device="a",if_name="Gi1/0/2"} 2.5\n' in third
    assert b"Gi1/0/1" not in third


def test_new_help_text_for_the_same_series_shows_at_the_next_scrape() -> None:
    """A profile reloaded with another HELP: the series are the same, the header is not."""
    state = State(["a"])
    renderer = StateRenderer()
    labels = {"device": "a"}
    for help_text in ("Octets in", "Octets received"):
        state.update(PollResult("a", 1.0, 0.1, [Sample("x_total", labels, 1, 1.0)],
                                metadata={"x_total": MetricMeta("counter", help_text)}))
        assert f"# HELP x_total {help_text}\n".encode() in renderer.render(state.devices)


# values and how the text format shows them, written out by hand
VALUE_TEXTS = [
    (1, "1"), (-7, "-7"), (2**64 + 1, "18446744073709551617"), (True, "1"), (False, "0"),
    (0.0, "0"), (-0.0, "0"), (3.0, "3"), (0.46, "0.46"), (2.5, "2.5"), (-2.5, "-2.5"),
    (1e-07, "1e-07"), (0.0001, "0.0001"), (1e-05, "1e-05"), (123456789012345.6,
    "123456789012345.6"), (999999999999999.0, "999999999999999"),
    (1e15, "1000000000000000.0"), (1.5e15, "1500000000000000.0"), (1e16, "1e+16"),
    (-1.25e17, "-1.25e+17"), (5e-324, "5e-324"), (float("nan"), "NaN"),
    (float("inf"), "+Inf"), (float("-inf"), "-Inf"), (0.1 + 0.2, "0.30000000000000004"),
    # 2**-25 = 2.98023223876953125e-08: 16 digits tie between ...312 and ...313, even wins
    (2.0**-25, "2.9802322387695312e-08"),
    # 2**-24 = 5.9604644775390625e-08: the float below is nearer than the one above, so
    # ...062 reads back as another float and ...063 is the shortest
    (2.0**-24, "5.960464477539063e-08"),
]


@pytest.mark.parametrize(("value", "text"), VALUE_TEXTS)
def test_the_reference_formats_values_as_written_by_hand(value: float, text: str) -> None:
    assert value_text(value) == text


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_the_reference_float_reads_back_as_the_same_float(value: float) -> None:
    if not (value.is_integer() and abs(value) < 1e15):
        assert float(shortest_float(value)) == value


def test_a_series_whose_int_value_turns_float_is_written_as_the_float() -> None:
    """A reading that came as an int (1) and then as a float (0.46), same series: the
    template made for the int must not write the float with %d (as 0)."""
    state = State(["a"])
    renderer = StateRenderer()
    labels = {"device": "a", "sensor": "tủ 1"}
    line = 'ups_load_ratio{device="a",sensor="tủ 1"} '
    for value, text in [(1, "1"), (0.46, "0.46"), (2, "2"), (2.0, "2"), (1e16, "1e+16"),
                        (float("nan"), "NaN"), (float("inf"), "+Inf"),
                        (float("-inf"), "-Inf"), (7, "7")]:
        state.update(PollResult("a", 1.0, 0.1, [Sample("ups_load_ratio", labels, value, 1.0)]))
        answer = renderer.render(state.devices).decode()
        assert line + text + "\n" in answer, (value, answer)
        assert answer.encode() == reference_exposition(state.devices)


def test_help_text_escapes_backslash_and_line_feed_and_unknown_types_are_gauges() -> None:
    state = State(["a"])
    meta = {"x_ratio": MetricMeta("summary", "C:\\tủ\nline two")}
    state.update(PollResult("a", 1.0, 0.1, [Sample("x_ratio", {"device": "a"}, 0.5, 1.0)],
                            metadata=meta))
    text = StateRenderer().render(state.devices)
    assert b"# HELP x_ratio C:\\\\t\xe1\xbb\xa7\\nline two\n# TYPE x_ratio gauge\n" in text
    assert text == reference_exposition(state.devices)


def test_an_unchanged_state_is_served_again_and_a_change_is_not() -> None:
    state = State(["a", "b"])
    renderer = StateRenderer()
    state.update(PollResult("a", 1.0, 0.1, [Sample("x", {"device": "a"}, 1, 1.0)]))
    first = renderer.render(state.devices)
    assert renderer.render(state.devices) is first  # nothing polled since: the same answer
    state.update(PollResult("b", 2.0, 0.1, [Sample("x", {"device": "b"}, 2, 2.0)]))
    second = renderer.render(state.devices)
    assert second is not first and b'x{device="b"} 2\n' in second
    assert renderer.render(state.devices) is second
    state.count_skipped("a")  # moves no generation, but a counter on /metrics
    third = renderer.render(state.devices)
    assert b'tierwatch_polls_skipped_total{device="a"} 1\n' in third


def test_rendering_leaves_the_garbage_collector_as_it_found_it() -> None:
    import gc

    state = State(["a"])
    state.update(PollResult("a", 1.0, 0.1, [Sample("x", {"device": "a"}, 1, 1.0)]))
    assert gc.isenabled()
    StateRenderer().render(state.devices)
    assert gc.isenabled()
    gc.disable()
    try:
        StateRenderer().render(state.devices)
        assert not gc.isenabled()
    finally:
        gc.enable()
