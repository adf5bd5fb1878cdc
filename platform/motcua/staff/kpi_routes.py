"""KPI dashboard pages, per tenant (``/admin/{tenant}/kpi``) and across tenants for operators
(``/admin/kpi``), with date range and agency filters, inline SVG charts and CSV export."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from typing import Any

from litestar import Request, Response, get

from motcua.domain.kpi import Kpis, Period, daily_series, tenant_kpis, to_csv_rows
from motcua.runtime import Runtime
from motcua.staff.charts import bar_chart
from motcua.staff.web import VN, PageError, render, require

MAX_DAYS = 366


def _period(start: str | None, end: str | None, agency: str | None, tz: str = "Asia/Ho_Chi_Minh") -> Period:
    today = datetime.now(VN).date()
    try:
        e = date.fromisoformat(end) if end else today
        s = date.fromisoformat(start) if start else e - timedelta(days=29)
    except ValueError:
        raise PageError(400, "Ngày không hợp lệ (định dạng YYYY-MM-DD).") from None
    if s > e:
        raise PageError(400, "Ngày bắt đầu phải trước ngày kết thúc.")
    if (e - s).days >= MAX_DAYS:
        raise PageError(400, f"Khoảng thời gian tối đa {MAX_DAYS} ngày.")
    return Period(start=s, end=e, agency=agency or None, tz=tz)


def _csv(rows: list[list[object]], filename: str) -> Response[bytes]:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    # A BOM so that Excel opens Vietnamese text correctly.
    return Response(("\ufeff" + buf.getvalue()).encode(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})


async def _tenant_data(runtime: Runtime, slug: str, period: Period) -> tuple[Kpis, list[dict[str, object]]]:
    async with runtime.db.tenant(slug) as conn:
        return await tenant_kpis(conn, slug, period), await daily_series(conn, slug, period)


@get("/admin/{tenant:str}/kpi", operation_id="AdminKpi", include_in_schema=False)
async def kpi_page(request: Request, runtime: Runtime, tenant: str, start: str | None = None, end: str | None = None,
                   agency: str | None = None) -> Response[Any]:
    p, t = await require(request, runtime, tenant)
    period = _period(start, end, agency, t.file.timezone)
    k, series = await _tenant_data(runtime, t.slug, period)
    async with runtime.db.tenant(t.slug) as conn:
        agencies = await conn.fetch("SELECT code, name FROM agency WHERE tenant_id = $1 AND active ORDER BY name", t.slug)
    charts = {
        "resolved": bar_chart(series, [("on_time", "Đúng hạn", "#1a7f37"), ("late", "Trễ hạn", "#c62828")],
                              title="Hồ sơ giải quyết theo ngày"),
        "interactions": bar_chart(series, [("interactions", "Tin nhắn đến", "#0b5cab"),
                                           ("feedback", "Phản ánh", "#b35900")], title="Tương tác theo ngày"),
    }
    query = request.url.query
    return render("kpi.html", me=p, tenant=t, k=k, period=period, agencies=agencies, charts=charts,
                  csv_url=f"/admin/{t.slug}/kpi.csv" + (f"?{query}" if query else ""), rows=None)


@get("/admin/{tenant:str}/kpi.csv", operation_id="AdminKpiCsv", include_in_schema=False)
async def kpi_csv(request: Request, runtime: Runtime, tenant: str, start: str | None = None, end: str | None = None,
                  agency: str | None = None) -> Response[bytes]:
    p, t = await require(request, runtime, tenant)
    period = _period(start, end, agency, t.file.timezone)
    k, series = await _tenant_data(runtime, t.slug, period)
    rows = to_csv_rows([k], period)
    rows += [[], ["ngay", "dung_han", "tre_han", "tin_nhan_den", "phan_anh"]]
    rows += [[str(d["day"]), d["on_time"], d["late"], d["interactions"], d["feedback"]] for d in series]
    return _csv(rows, f"chi-so-{t.slug}-{period.start}-{period.end}.csv")


async def _all(runtime: Runtime, period: Period) -> list[Kpis]:
    # One tenant door at a time: RLS stays on, and no query ever spans tenants.
    out = []
    for slug in await runtime.tenant_slugs():
        async with runtime.db.tenant(slug) as conn:
            out.append(await tenant_kpis(conn, slug, period))
    return out


@get("/admin/kpi", operation_id="AdminKpiAll", include_in_schema=False)
async def kpi_all(request: Request, runtime: Runtime, start: str | None = None, end: str | None = None) -> Response[Any]:
    p, _ = await require(request, runtime, need="operator")
    period = _period(start, end, None)
    items = await _all(runtime, period)
    query = request.url.query
    return render("kpi.html", me=p, tenant=None, k=Kpis.total(items), period=period, agencies=[], charts={},
                  rows=items, csv_url="/admin/kpi.csv" + (f"?{query}" if query else ""))


@get("/admin/kpi.csv", operation_id="AdminKpiAllCsv", include_in_schema=False)
async def kpi_all_csv(request: Request, runtime: Runtime, start: str | None = None,
                      end: str | None = None) -> Response[bytes]:
    await require(request, runtime, need="operator")
    period = _period(start, end, None)
    items = await _all(runtime, period)
    return _csv(to_csv_rows([*items, Kpis.total(items)], period), f"chi-so-cac-tinh-{period.start}-{period.end}.csv")


ROUTES = [kpi_page, kpi_csv, kpi_all, kpi_all_csv]
