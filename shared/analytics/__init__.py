"""Analytics: room-day aggregates of booked time, meetings, lead times, sizes and groups, their storage and queries.

Imports the ground floor (models, ports, keys, timezones) and adapters; reads Events rows as stored, never
sync internals.
"""
