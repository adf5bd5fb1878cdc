"""Registers citizen services through the same hooks as any plug-in: routes (status page, QR,
Mini App API), jobs (notifications, ratings), the timeline subscriber (notifications) and the
bot (``motcua_register_chat``)."""

from __future__ import annotations

from motcua.plugins import hookimpl


@hookimpl
def motcua_register_routes(registry) -> None:
    from motcua.citizen import miniapp, pages, procedures_api, qr

    for handler in (pages.status_page, pages.rate_dossier, qr.qr_svg, qr.qr_png, *procedures_api.ROUTES,
                    *miniapp.ROUTES):
        registry.add(handler)


@hookimpl
def motcua_register_jobs(registry) -> None:
    from motcua.domain.notifications.service import SWEEP, overdue_sweep_job, send_job
    from motcua.domain.ratings.service import push_job

    registry.register("notifications.send", send_job)
    registry.register(SWEEP, overdue_sweep_job)
    registry.register("ratings.push", push_job)


@hookimpl
def motcua_register_subscribers(registry) -> None:
    from motcua.domain.notifications.service import on_dossier_event

    registry.subscribe(on_dossier_event)


@hookimpl(optionalhook=True)  # the spec belongs to the Zalo channel part
def motcua_register_chat(registry) -> None:
    from motcua.citizen.chat import handle

    registry.register(handle)
