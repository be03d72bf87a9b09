"""October 2026 of the city's e-government services, written by the services room's own
recorder, with figures known by construction.

The month of tests/report/seed.py (power history; tierwatch not running on 20 October), plus
three services bound to its racks, two agencies and a small dedicated network:

    portal  "Cổng dịch vụ công"    target 99.9 %   on R1 (dual-corded)   ubnd-tp, ubnd-ah
    mail    "Thư điện tử công vụ"  target 99.5 %   on R7 (single cord)   ubnd-ah
    video   "Hội nghị truyền hình" target 99 %     (no dependency)       ubnd-tp
    ubnd-ah "UBND phường An Hòa" at network site SITE-AH (behind district node D-NK);
    ubnd-tp "UBND thành phố" (no site of its own)

What happened (local times), each a view of tier/services.py's rules handed to
services/recorder.py, as the running room does:

* 3 Oct 10:00:00-10:05:00   R7 not served: mail down, the infrastructure's cause (300 s)
* 6 Oct 09:00:00-09:30:00   the portal's check answers 500: down, the check's cause (1,800 s)
* 15 Oct 08:00-11:00        R1 on one of its two paths (ups-b on bypass): portal at risk (3 h)
* 19 Oct 23:00-21 Oct 00:00 the portal's check times out; tierwatch stops at 20 Oct 00:00 and
                            closes the outage when it starts again: 3,600 s monitored
* 25 Oct 16:00-17:00        SITE-AH cut off: ubnd-ah reaches neither portal nor mail (1 h)

Certificates (services' store table), each seen in the month:

* dichvucong.cantho.gov.vn:443  an old one ending 3 Nov, replaced on 5 Oct by one ending
                                10 Nov 12:00 (the old one no longer counts)
* mail.cantho.gov.vn:993        ended 28 Oct 00:00, still presented on 31 Oct
* mail.cantho.gov.vn:25         ends 1 Mar 2027
* video.cantho.gov.vn:5061      ends 30 Nov 23:00
* video.cantho.gov.vn:443       ends 1 Dec 01:00 (after next month)
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from report.config import ReportSettings
from services.recorder import ServicesRecorder
from tests.report import seed
from tests.report.seed import at
from tier.services import (
    CheckVerdict,
    Health,
    NodeHealth,
    ServicesTopology,
    ServicesView,
    agency_reach,
    evaluate,
)
from tierwatch.config import Config
from tierwatch.core.store import Store
from tierwatch.core.store.services import record_certificates
from tierwatch.service import report_settings

PORTAL_500 = "https: status (status 500 from https://dichvucong.cantho.gov.vn/)"
PORTAL_TIMEOUT = "https: timeout (no complete answer within 5s)"
R7_DOWN = "R7 not served (no path)"
R1_SINGLE = "R1 on 1 of 2 paths (power)"
SITE_CUT = "SITE-AH not served (no path)"

SERVICES: dict[str, Any] = {
    "agencies": [
        {"id": "ubnd-tp", "name": "UBND thành phố"},
        {"id": "ubnd-ah", "name": "UBND phường An Hòa", "site": "SITE-AH"},
    ],
    "nodes": [
        {"id": "portal", "name": "Cổng dịch vụ công", "target": "99.9%",
         "depends_on": ["R1"], "agencies": ["ubnd-tp", "ubnd-ah"]},
        {"id": "mail", "name": "Thư điện tử công vụ", "target": "99.5%",
         "depends_on": ["R7"], "agencies": ["ubnd-ah"]},
        {"id": "video", "name": "Hội nghị truyền hình", "target": "99%",
         "agencies": ["ubnd-tp"]},
    ],
}

NETWORK: dict[str, Any] = {
    "nodes": [
        {"id": "WAN", "kind": "carrier", "capacity": 1000},
        {"id": "CORE-1", "kind": "core", "capacity": 1000, "fed_from": ["WAN"]},
        {"id": "D-NK", "kind": "district", "fed_from": ["CORE-1"], "name": "Nút Ninh Kiều"},
        {"id": "SITE-AH", "kind": "site", "demand": 20, "fed_from": ["D-NK"],
         "name": "UBND phường An Hòa (một đường)"},
    ],
}


def topology() -> dict[str, Any]:
    topo = copy.deepcopy(seed.TOPOLOGY)
    topo["network"] = NETWORK
    topo["services"] = SERVICES
    return topo


def config(tmp: Path, url: str) -> Config:
    return seed.config(tmp, url, topology())


def settings(tmp: Path, url: str) -> ReportSettings:
    return report_settings(config(tmp, url))


class City:
    """Drives the services room's recorder through the month: the checks' verdicts and the
    infrastructure's health at each moment, evaluated by tier/services.py."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.topology = ServicesTopology.model_validate(SERVICES)
        self.checks = {s: CheckVerdict("ok") for s in ("portal", "mail", "video")}
        self.infra = {node: NodeHealth(Health.UP) for node in ("R1", "R7", "SITE-AH")}
        self.recorder = ServicesRecorder(store, self.topology)

    def restart(self) -> None:
        """tierwatch started again: a fresh recorder reconciles with the store."""
        self.recorder = ServicesRecorder(self.store, self.topology)

    def at(self, ts: float, *, check: dict[str, CheckVerdict] | None = None,
           infra: dict[str, NodeHealth] | None = None) -> None:
        self.checks.update(check or {})
        self.infra.update(infra or {})
        states = evaluate(self.topology, self.checks, self.infra)
        reach = agency_reach(self.topology, states, self.infra)
        self.recorder.record(ServicesView(ts, states, tuple(reach), infrastructure_known=True))


def cert(service: str, endpoint: str, fingerprint: str, not_after: float, *,
         verified: bool = True, error: str = "") -> dict[str, Any]:
    return {"service": service, "endpoint": endpoint, "fingerprint": fingerprint,
            "check_name": service, "subject": endpoint.split(":")[0],
            "issuer": "CA Cần Thơ", "not_before": at(1, month=1), "not_after": not_after,
            "verified": verified, "error": error}


OLD_PORTAL = cert("portal", "dichvucong.cantho.gov.vn:443", "a0", at(3, month=11))
PORTAL = cert("portal", "dichvucong.cantho.gov.vn:443", "a1", at(10, 12, month=11))
IMAPS = cert("mail", "mail.cantho.gov.vn:993", "m2", at(28), verified=False,
             error="certificate has expired")
SMTP = cert("mail", "mail.cantho.gov.vn:25", "m1", at(1, month=3) + 365 * 86400.0)
SIP = cert("video", "video.cantho.gov.vn:5061", "v1", at(30, 23, month=11))
VIDEO_WEB = cert("video", "video.cantho.gov.vn:443", "v2", at(1, 1, month=12))


def seed_services(store: Store) -> None:
    """The power month of tests/report/seed.py, then the services' month over it."""
    seed.seed(store)
    city = City(store)
    city.at(at(30, 12, month=9))  # every service up when tierwatch starts
    record_certificates(store, [OLD_PORTAL, SMTP, IMAPS, SIP, VIDEO_WEB], at(1))

    city.at(at(3, 10), check={"mail": CheckVerdict("failing", "smtp: conn_refused")},
            infra={"R7": NodeHealth(Health.DOWN, R7_DOWN)})
    city.at(at(3, 10, 5), check={"mail": CheckVerdict("ok")},
            infra={"R7": NodeHealth(Health.UP)})

    record_certificates(store, [PORTAL], at(5))

    city.at(at(6, 9), check={"portal": CheckVerdict("failing", PORTAL_500)})
    city.at(at(6, 9, 30), check={"portal": CheckVerdict("ok")})

    city.at(at(15, 8), infra={"R1": NodeHealth(Health.AT_RISK, R1_SINGLE)})
    city.at(at(15, 11), infra={"R1": NodeHealth(Health.UP)})

    city.at(at(19, 23), check={"portal": CheckVerdict("failing", PORTAL_TIMEOUT)})
    # tierwatch is not running from 20 Oct 00:00 (seed.py); at its start on the 21st the
    # portal answers again
    city.restart()
    city.checks["portal"] = CheckVerdict("ok")
    city.at(at(21))

    city.at(at(25, 16), infra={"SITE-AH": NodeHealth(Health.DOWN, SITE_CUT)})
    city.at(at(25, 17), infra={"SITE-AH": NodeHealth(Health.UP)})

    record_certificates(store, [PORTAL, SMTP, IMAPS, SIP, VIDEO_WEB], at(31, 23))
