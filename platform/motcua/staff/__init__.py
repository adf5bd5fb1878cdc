"""The staff side: sign-in and roles, officer inbox, feedback desk, admin console, KPIs.

Server-rendered pages (Jinja2 templates in ``motcua/web/templates/staff``, a little CSS and JS
in ``motcua/web/static/staff-*``), Vietnamese first. The rules live in ``motcua.domain``
(auth, inbox, feedback, broadcasts, kpi, audit); this package only speaks HTTP.
"""
