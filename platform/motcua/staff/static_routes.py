"""The staff pages' own static files (``web/static/staff-*``), served with a long cache."""

from __future__ import annotations

from litestar import Response, get

from motcua.staff.web import STATIC, not_found

TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}


@get("/staff/static/{name:str}", operation_id="StaffStatic", include_in_schema=False, sync_to_thread=False)
def staff_static(name: str) -> Response[bytes]:
    path = STATIC / name
    if not name.startswith("staff-") or "/" in name or path.suffix not in TYPES or not path.is_file():
        raise not_found()
    return Response(path.read_bytes(), media_type=TYPES[path.suffix],
                    headers={"Cache-Control": "public, max-age=3600"})


ROUTES = [staff_static]
