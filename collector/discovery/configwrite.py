"""`tierwatch discover --write`: the devices a sweep found, added to a config file as the
person left it: every line already there stays as written (comments, key order, quoting,
line breaks); new devices go at the end of `devices:`, one line each in the file's own
indentation, under a comment saying what each is and why `auto` chose its profiles.
ruamel.yaml's round-trip parser says where the list and the next section start; the text
is edited there, not re-dumped (a dump would re-flow the file).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from collector.discovery.sweep import AddressResult

_NOT_ID = re.compile(r"[^A-Za-z0-9_.:-]+")


class ConfigWriteError(ValueError):
    pass


def device_id(result: AddressResult, taken: set[str]) -> str:
    """A device id from the sysName (letters, digits, '.', '_', ':', '-'), else from the
    address; made unique against `taken` with -2, -3 ..."""
    base = _NOT_ID.sub("-", result.sys_name).strip("-._:")[:100]
    if not base or not base[0].isalnum():
        base = _NOT_ID.sub("-", result.host).strip("-")
        base = f"dev-{base}"
    candidate, n = base, 2
    while candidate.casefold() in {t.casefold() for t in taken}:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def _entry(result: AddressResult, new_id: str, dash: str) -> list[str]:
    fields = {"id": new_id, "address": result.address, "credentials": result.credential,
              "profile": "auto"}
    body = ", ".join(f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in fields.items())
    comment = " ".join(_comment(result).split())  # one line, whatever the agent sent
    return [f"{dash}# {comment}", f"{dash}- {{{body}}}"]


def add_devices(text: str, found: Iterable[AddressResult]) -> tuple[str, list[str]]:
    """The config text with the new devices inserted at the end of `devices:` (a new
    `devices:` section at the end when there is none); and their ids. Every other line is
    kept byte for byte. Devices already configured (matched by the sweep) are skipped."""
    yaml = YAML()  # round trip: it knows where each key and list item starts
    try:
        data = yaml.load(text) if text.strip() else CommentedMap()
    except Exception as exc:  # ruamel's errors share no base class worth naming
        raise ConfigWriteError(f"cannot read the config: {exc}") from None
    if data is None:
        data = CommentedMap()
    if not isinstance(data, CommentedMap):
        raise ConfigWriteError("the config is not a mapping of sections")
    devices = data.get("devices")
    if devices is not None and not isinstance(devices, CommentedSeq):
        raise ConfigWriteError("devices: is not a list")
    if devices is not None and (devices.fa.flow_style() or text.splitlines()[
            data.lc.value("devices")[0]][data.lc.value("devices")[1]:].startswith("[")):
        raise ConfigWriteError("devices: is written as one [...] list; write it as a block "
                               "list (one `- ` per device) for --write to add to it")
    taken = {str(d.get("id")) for d in devices or [] if isinstance(d, dict) and d.get("id")}
    lines = text.splitlines()
    dash = "  "
    if devices:
        first = lines[devices.lc.item(0)[0]]
        dash = first[: len(first) - len(first.lstrip())]  # the items' own indentation
    new_lines: list[str] = []
    added: list[str] = []
    for result in found:
        if result.outcome != "found" or result.configured is not None or not result.credential:
            continue
        new_id = device_id(result, taken)
        taken.add(new_id)
        new_lines += _entry(result, new_id, dash)
        added.append(new_id)
    if not added:
        return text, []
    if devices is None:
        out = [*lines, "devices:", *new_lines]
    else:
        keys = list(data.keys())
        after = keys[keys.index("devices") + 1:]
        end = data.lc.key(after[0])[0] if after else len(lines)
        # comments and blank lines just above the next section introduce it: keep them there
        while end > 0 and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")) \
                and end - 1 > data.lc.key("devices")[0]:
            end -= 1
        out = [*lines[:end], *new_lines, *lines[end:]]
    return "\n".join(out) + "\n", added


def _comment(result: AddressResult) -> str:
    what = result.sys_descr.splitlines()[0][:100] if result.sys_descr else "no sysDescr"
    why = "; ".join(f"{name}: {reason}" for name, reason in result.reasons.items())
    return (f"found by tierwatch discover: {what} ({result.vendor}); "
            f"auto -> {', '.join(result.profiles)} ({why})")
