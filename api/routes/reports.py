"""Monthly readiness reports: the register (list, one), the files, and generation (admin).

POST /api/v1/reports {"month": "2026-10", "languages": ["vi"], "formats": ["pdf"]}
GET  /api/v1/reports?month=2026-10
GET  /api/v1/reports/12/download
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from api.deps import AdminDep, ContextDep, ReaderDep, StoreDep
from api.errors import ERRORS, WRITE_ERRORS
from api.pagination import Page, PageParams, page_params
from api.params import MONTH_REGEX
from report.monthly import (
    MEDIA_TYPES,
    ReportFile,
    email_reports,
    get_report,
    list_reports,
    write_reports,
)

router = APIRouter(prefix="/api/v1/reports", tags=["reports"], responses=ERRORS)

ReportId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class ReportOut(BaseModel):
    id: int
    month: str
    lang: str
    format: str
    filename: str
    size: int
    sha256: str
    created: float
    trigger: str
    complete: bool  # the month was over when the report was made
    download: str


class GenerateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    month: str = Field(pattern=MONTH_REGEX, description="YYYY-MM in the site's time zone")
    languages: list[Literal["vi", "en"]] | None = Field(default=None, min_length=1, max_length=2)
    # strict: a JSON boolean, not 0/1 or "yes" (the schema says boolean)
    email: bool = Field(default=False, strict=True,
                        description="also send the files to reports.email")
    formats: list[Literal["pdf", "html", "json"]] | None = Field(
        default=None, min_length=1, max_length=3
    )


class FailureOut(BaseModel):
    lang: str
    format: str
    message: str


class GeneratedOut(BaseModel):
    month: str
    has_data: bool
    files: list[ReportOut]
    failures: list[FailureOut]
    emailed: bool | None = None  # None: not asked to
    email_error: str | None = None


def report_out(f: ReportFile) -> ReportOut:
    return ReportOut(
        **{k: v for k, v in f.to_json().items()}, download=f"/api/v1/reports/{f.id}/download"
    )


@router.get("", response_model=Page[ReportOut])
def list_all(
    _who: ReaderDep,
    store: StoreDep,
    page: Annotated[PageParams, Depends(page_params)],
    month: Annotated[str | None, Query(pattern=MONTH_REGEX)] = None,
) -> Page[ReportOut]:
    total, files = list_reports(store, month, page.limit, page.offset)
    return Page[ReportOut](
        items=[report_out(f) for f in files], total=total, limit=page.limit, offset=page.offset
    )


@router.post("", response_model=GeneratedOut, status_code=201, responses=WRITE_ERRORS)
def generate(_who: AdminDep, body: GenerateIn, store: StoreDep,
             context: ContextDep) -> GeneratedOut:
    settings = context.reports
    if body.email and (not settings.reports.email or context.mailer is None):
        raise HTTPException(422, "email: configure reports.email and alerts.smtp first")
    try:
        done = write_reports(
            store,
            settings,
            body.month,
            time.time(),
            languages=body.languages,
            formats=body.formats,
            trigger="api",
        )
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    emailed, email_error = None, None
    if body.email:  # a worker thread (a sync route): no event loop of its own yet
        try:
            asyncio.run(email_reports(settings, done, context.mailer))
            emailed = True
        except Exception as exc:  # the files are written; say what went wrong with the mail
            emailed, email_error = False, str(exc)
    return GeneratedOut(
        month=body.month,
        has_data=done.report.has_data,
        files=[report_out(f) for f in done.files],
        failures=[
            FailureOut(lang=f.lang, format=f.format, message=f.message) for f in done.failures
        ],
        emailed=emailed,
        email_error=email_error,
    )


def _found(store: Any, report_id: int) -> ReportFile:
    found = get_report(store, report_id)
    if found is None:
        raise HTTPException(404, f"no report {report_id}")
    return found


@router.get("/{report_id}", response_model=ReportOut)
def get_one(_who: ReaderDep, report_id: ReportId, store: StoreDep) -> ReportOut:
    return report_out(_found(store, report_id))


_FILE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the report file",
        "content": {media.split(";")[0]: {} for media in MEDIA_TYPES.values()},
    }
}


@router.get("/{report_id}/download", response_class=FileResponse, responses=_FILE)
def download(_who: ReaderDep, report_id: ReportId, store: StoreDep) -> FileResponse:
    found = _found(store, report_id)
    path = FilePath(found.path)
    if not path.is_file():
        raise HTTPException(404, f"report {report_id}: its file {found.filename} is gone")
    return FileResponse(path, media_type=MEDIA_TYPES[found.format], filename=found.filename)
