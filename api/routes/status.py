"""The status page: server-rendered HTML (Jinja2), readable on a phone, reloading itself,
in Vietnamese or English (`?lang=vi`, else the browser's Accept-Language).

When reads need a token (`api.read_auth: token`), the page asks for one once (/login) and
keeps it in an HttpOnly, SameSite=Strict cookie (Secure over HTTPS, or always with
`api.secure_cookie` behind a TLS proxy); /logout forgets it. Both forms are taken only from
this site's own pages (api/origin.py).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from api import alerting
from api.context import ApiContext
from api.errors import error
from api.origin import cross_site_reason
from api.powerview import diagram_svg
from api.security import COOKIE, cookie_principal, reads_open, token_principal
from api.texts import CATALOG
from api.tierview import LiveView, live_view
from livetier.downtime import availability_report, month_bounds
from nethealth.lldp import node_verdicts
from tier.availability import coverage, verdict
from tierwatch.core.i18n import Translator, pick_language, translator

router = APIRouter(include_in_schema=False)
TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
DEVICE_ORDER = {"failed": 0, "unknown": 1, "degraded": 2, "ok": 3}


@lru_cache(maxsize=1)
def environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _translator(request: Request, context: ApiContext) -> Translator:
    lang = pick_language(
        request.query_params.get("lang"),
        request.headers.get("accept-language"),
        context.config.api.default_lang,
    )
    return translator(lang, CATALOG, context.config.site.timezone)


def _html(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    body = environment().get_template(name).render(**context)
    return HTMLResponse(
        body,
        status_code=status,
        headers={
            "Cache-Control": "no-store",
            "Content-Security-Policy": "default-src 'none'; "
            "style-src 'unsafe-inline'; img-src 'self' data:; "
            "form-action 'self'; frame-ancestors 'none'",
        },
    )


def _devices(context: ApiContext, now: float) -> list[dict[str, Any]]:
    names = {d.id: d.name for d in context.config.devices}
    names.update({h.id: h.name for h in context.config.agents.hosts})
    names.update({t.id: t.name for _, _, t in context.config.probes.targets()})
    rows = []
    for dev in context.state.devices.values():
        rows.append(
            {
                "id": dev.id,
                "name": names.get(dev.id) or "",
                "status": str(dev.status),
                "reason": dev.status_reason,
                "age": None if dev.last_poll_ts is None else max(0.0, now - dev.last_poll_ts),
            }
        )
    rows.sort(key=lambda r: (DEVICE_ORDER.get(str(r["status"]), 9), str(r["id"])))
    return rows


def _sites(context: ApiContext, view: LiveView | None) -> list[dict[str, Any]]:
    """The dedicated network's agency sites: the topology's `site` nodes with their live
    paths (two paths ok, one path exposed, none down), and probed sites not in it."""
    loads = {}
    if view is not None:
        for sub in view.snapshot.subsystems:
            loads.update({ld.id: ld for ld in sub.live.loads})
    out = []
    for node in context.config.topology.network.nodes:
        if node.kind != "site":
            continue
        load = loads.get(node.id)
        if load is None:
            status, detail = "unknown", ""
        elif not load.served:
            status, detail = "failed", load.reason or ""
        else:
            status, detail = ("ok" if load.paths_all >= 2 else "degraded"), ""
        out.append(
            {
                "id": node.id,
                "name": node.name or node.id,
                "status": status,
                "paths": load.paths_all if load is not None else None,
                "reason": detail,
            }
        )
    listed = {row["id"] for row in out}
    for target in context.config.probes.sites:
        if target.id in listed:
            continue
        dev = context.state.devices.get(target.id)
        out.append(
            {
                "id": target.id,
                "name": target.name or target.id,
                "status": str(dev.status) if dev else "unknown",
                "paths": None,
                "reason": dev.status_reason if dev else "",
            }
        )
    return out


def _links(context: ApiContext) -> list[dict[str, Any]]:
    out = []
    for target in context.config.probes.links:
        dev = context.state.devices.get(target.id)
        out.append(
            {
                "id": target.id,
                "name": target.name or target.id,
                "status": str(dev.status) if dev else "unknown",
                "reason": dev.status_reason if dev else "",
            }
        )
    return out


def _lldp(context: ApiContext) -> list[dict[str, Any]]:
    """Each declared port's LLDP verdict, then the unexpected neighbours. Neighbour names are
    the network's words: the template escapes them like every other string."""
    room = context.network
    if room is None:
        return []
    rows: list[dict[str, Any]] = []
    for check in room.links():
        b = check.binding
        rows.append({"link": f"{b.feeder} → {b.node}", "device": b.device, "port": b.port,
                     "verdict": check.verdict, "expected": check.expected,
                     "seen": ", ".join(check.seen_here), "moved_to": ", ".join(check.seen_on)})
    for u in room.unexpected():
        rows.append({"link": "", "device": u.device, "port": u.local_port,
                     "verdict": "unexpected", "expected": "",
                     "seen": u.neighbour_device or u.neighbour.name, "moved_to": ""})
    return rows


def _unverified(context: ApiContext, view: LiveView | None) -> dict[str, list[dict[str, str]]]:
    """subsystem -> the links the live tier scored out (the snapshot's own list), each with
    the LLDP verdict that made it so."""
    if view is None:
        return {}
    verdicts = {(c.binding.subsystem, *c.binding.edge): c.verdict
                for c in (context.network.links() if context.network is not None else [])}
    return {sub.name: [{"from": u, "to": v, "verdict": verdicts.get((sub.name, u, v), "")}
                       for u, v in sub.unavailable_edges]
            for sub in view.snapshot.subsystems if sub.unavailable_edges}


def _lldp_nodes(context: ApiContext, view: LiveView | None) -> list[dict[str, Any]]:
    """The LLDP status of each node a declared link feeds (its worst link's verdict), with
    each of its declared links and whether the live tier counts it."""
    room = context.network
    if room is None:
        return []
    checks = room.links()
    worst = node_verdicts(checks)
    cut = {(sub.name, *edge) for sub in view.snapshot.subsystems
           for edge in sub.unavailable_edges} if view is not None else set()
    rows = []
    for _, sub in context.config.topology.subsystems():
        for node in sub.nodes:
            if node.id not in worst:
                continue
            links = [{"feeder": c.binding.feeder, "device": c.binding.device,
                      "port": c.binding.port, "verdict": c.verdict,
                      "counted": (c.binding.subsystem, *c.binding.edge) not in cut}
                     for c in checks if c.binding.node == node.id]
            rows.append({"id": node.id, "name": node.name or node.id,
                         "verdict": worst[node.id], "links": links})
    return rows


def _availability(context: ApiContext, now: float) -> dict[str, Any] | None:
    """The site's availability this calendar month so far, with the same verdict as the
    report and the API: no "met" while less than `tier.min_coverage` was monitored."""
    store = context.store()
    if store is None:
        return None
    settings = context.config.tier
    period = month_bounds(now, context.config.site.timezone)
    report = availability_report(store, "site", period, now=now, target=settings.target).report
    return {
        "availability": report.availability,
        "target": report.target,
        "coverage": coverage(report),
        "verdict": verdict(report, settings.min_coverage),
    }


def _services(context: ApiContext, now: float) -> dict[str, Any] | None:
    """The services' states, who cannot reach each, and the certificates (soonest first)."""
    if context.services is None:
        return None
    body = context.services.to_json(now)
    names = {a["id"]: a["name"] for a in body["agencies"]}
    cut: dict[str, list[str]] = {}
    for agency in body["agencies"]:
        for reach in agency["services"]:
            if reach["reachable"] is False:
                cut.setdefault(reach["service"], []).append(names[agency["id"]])
    certs = sorted(body["certificates"], key=lambda c: c["days_left"])
    return {"services": body["services"], "cut": cut, "certificates": certs}


def _lang_link(request: Request, tr: Translator) -> str:
    other = "en" if tr.lang == "vi" else "vi"
    return f"{request.url.path}?lang={other}"


@router.get("/", response_class=HTMLResponse)
def status_page(request: Request) -> Response:
    context: ApiContext = request.app.state.context
    tr = _translator(request, context)
    if not reads_open(request) and cookie_principal(request) is None:
        return RedirectResponse(f"/login?lang={tr.lang}", status_code=303)
    now = request.app.state.clock()
    view = live_view(context, request.app.state.cache)
    store = context.store()
    alerts = alerting.list_alerts(store) if store is not None else []
    windows = (
        [w for w in alerting.windows(store) if w.active_at(now, context.config.site.timezone)]
        if store is not None
        else []
    )
    devices = _devices(context, now)
    counts = {
        "ok": sum(d["status"] == "ok" for d in devices),
        "bad": sum(d["status"] in ("degraded", "failed") for d in devices),
        "unknown": sum(d["status"] == "unknown" for d in devices),
    }
    return _html(
        "status.html.j2",
        t=tr,
        lang=tr.lang,
        site=context.config.site.name,
        now=now,
        refresh=int(context.config.api.refresh),
        view=view,
        snapshot=view.snapshot if view else None,
        availability=_availability(context, now) if view else None,
        alerts=alerts,
        windows=windows,
        devices=devices,
        counts=counts,
        sites=_sites(context, view),
        services=_services(context, now),
        links=_links(context),
        lldp=_lldp(context),
        # the one-line diagram inline (SVG: readable without JavaScript), the power figures
        diagram=Markup(diagram_svg(view, context, tr)) if view else None,
        power=context.power.view if context.power is not None else None,
        lldp_nodes=_lldp_nodes(context, view),
        unverified=_unverified(context, view),
        lang_link=_lang_link(request, tr),
        signed_in=not reads_open(request),
    )


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> Response:
    context: ApiContext = request.app.state.context
    tr = _translator(request, context)
    return _html("login.html.j2", t=tr, lang=tr.lang, site=context.config.site.name, failed=False)


def _refuse_cross_site(request: Request) -> Response | None:
    """A 403 for a form sent from another site's page (login CSRF), counted; else None."""
    reason = cross_site_reason(request)
    if reason is None:
        return None
    request.app.state.refused.count("cross_site")
    return error(403, f"refused: this form is taken only from this site's own pages ({reason})")


def _secure_cookie(request: Request, context: ApiContext) -> bool:
    return bool(context.config.api.secure_cookie) or request.url.scheme == "https"


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    context: ApiContext = request.app.state.context
    if (refused := _refuse_cross_site(request)) is not None:
        return refused
    tr = _translator(request, context)
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    token = (form.get("token") or [""])[0].strip()
    if token_principal(request, token) is None:
        return _html(
            "login.html.j2",
            status=401,
            t=tr,
            lang=tr.lang,
            site=context.config.site.name,
            failed=True,
        )
    response = RedirectResponse(f"/?lang={tr.lang}", status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=_secure_cookie(request, context),
        max_age=30 * 86400,
    )
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    if (refused := _refuse_cross_site(request)) is not None:
        return refused
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, httponly=True, samesite="strict",
                           secure=_secure_cookie(request, request.app.state.context))
    return response
