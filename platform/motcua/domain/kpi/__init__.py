"""KPIs (chỉ số) following Decision 766/QĐ-TTg where it applies (onestop.md §2.4), computed in
PostgreSQL, set-based, from the dossier timeline (``dossier_event``) and the other tables — never
by asking the one-stop system again.

- on time / early: dossiers whose first resolution event (status ``resolved`` or ``returned``)
  falls in the period, against their due date; early = finished on an earlier calendar day;
- overdue: dossiers not finished whose due date passed before the period's end (or now);
- online: share of dossiers received in the period that were submitted online;
- rating coverage (provinces aim at 60%) and satisfaction (rated satisfied or very satisfied);
- feedback answered within its deadline, among feedback due in the period (rejected excluded);
- median time to the first officer answer in the inbox;
- followers, new followers, and daily interactions (inbound messages).

``tenant_kpis(conn, tenant, period)`` runs in the tenant's own transaction; across tenants the
caller loops over tenants, one tenant door at a time.
"""

from motcua.domain.kpi.queries import Kpis, Period, daily_series, tenant_kpis, to_csv_rows

__all__ = ["Kpis", "Period", "daily_series", "tenant_kpis", "to_csv_rows"]
