"""Appointments (lịch hẹn) at a tenant's reception desk, booked from the Mini App, with a queue
number per day handed out atomically. One booking per user per day; the desk's current number
is kept in ``appointment_day``.
"""
