"""GET /api/v1/devices: every device with its status; /api/v1/devices/{id}: its components,
latest samples and poll figures. Never a credential: devices are shown by id, name,
address and profile only."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel

from api.context import ApiContext
from api.deps import ContextDep, ReaderDep
from api.errors import ERRORS
from api.pagination import Page, PageParams, page_params
from tierwatch.core.model import ComponentStatus
from tierwatch.core.state import DeviceState

router = APIRouter(prefix="/api/v1/devices", tags=["devices"], responses=ERRORS)

StatusFilter = Literal["ok", "degraded", "failed", "unknown"]


class DeviceOut(BaseModel):
    id: str
    name: str | None
    kind: str  # snmp | agent | link | site
    address: str | None
    profiles: list[str]
    labels: dict[str, str]
    status: str
    reason: str
    conditions: list[str]
    reachable: bool | None
    last_poll: float | None
    last_success: float | None
    last_error: str | None


class ComponentOut(BaseModel):
    device: str
    component: str
    status: str
    reason: str
    conditions: list[str]

    @classmethod
    def of(cls, device_id: str, c: ComponentStatus) -> ComponentOut:
        return cls(device=device_id, component=c.component, status=str(c.status),
                   reason=c.reason, conditions=sorted(c.conditions))


class SampleOut(BaseModel):
    name: str
    labels: dict[str, str]
    value: float | None  # None for NaN and infinities (not JSON numbers)
    ts: float


class PollFigures(BaseModel):
    polls: int
    errors: dict[str, int]
    skipped: int
    varbinds: int
    last_duration: float | None
    consecutive_failures: int
    reboots: int
    last_reboot: float | None


class DeviceDetail(DeviceOut):
    components: list[ComponentOut]
    samples: list[SampleOut]
    polling: PollFigures


def _kind(
    context: ApiContext, device_id: str
) -> tuple[str, str | None, str | None, list[str], dict[str, str]]:
    info = context.devices.get(device_id)
    if info is None:
        return "other", None, None, [], {}
    name = info.name if info.name != info.id else None
    return info.kind, name, info.address, list(info.profiles), dict(info.labels)


def json_number(value: float | None) -> float | None:
    """A reading as JSON can carry it: NaN and the infinities become null."""
    if value is None or value != value or value in (float("inf"), float("-inf")):
        return None
    return value


def device_out(context: ApiContext, dev: DeviceState) -> DeviceOut:
    kind, name, address, profiles, labels = _kind(context, dev.id)
    return DeviceOut(
        id=dev.id,
        name=name,
        kind=kind,
        address=address,
        profiles=profiles,
        labels=labels,
        status=str(dev.status),
        reason=dev.status_reason,
        conditions=sorted(dev.conditions),
        reachable=dev.reachable,
        last_poll=dev.last_poll_ts,
        last_success=dev.last_success_ts,
        last_error=dev.last_error,
    )


@router.get("", response_model=Page[DeviceOut])
def list_devices(
    _who: ReaderDep,
    context: ContextDep,
    page: Annotated[PageParams, Depends(page_params)],
    status: Annotated[StatusFilter | None, Query()] = None,
) -> Page[DeviceOut]:
    devices = [
        d for d in context.state.devices.values() if status is None or str(d.status) == status
    ]
    return page.cut([device_out(context, d) for d in devices])


@router.get("/{device_id}", response_model=DeviceDetail)
def get_device(_who: ReaderDep, device_id: str, context: ContextDep) -> DeviceDetail:
    dev = context.state.devices.get(device_id)
    if dev is None:
        raise HTTPException(404, f"no device {device_id!r}")
    base = device_out(context, dev)
    return DeviceDetail(
        **base.model_dump(),
        components=[ComponentOut.of(dev.id, c) for c in dev.components.values()],
        samples=[
            SampleOut(name=s.name, labels=dict(s.labels), value=json_number(s.value), ts=s.ts)
            for s in dev.samples
        ],
        polling=PollFigures(
            polls=dev.polls_total,
            errors=dict(dev.poll_errors_total),
            skipped=dev.polls_skipped_total,
            varbinds=dev.varbinds_total,
            last_duration=dev.last_poll_duration,
            consecutive_failures=dev.consecutive_failures,
            reboots=dev.reboots_total,
            last_reboot=dev.last_reboot_ts,
        ),
    )
