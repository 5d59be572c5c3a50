"""Reports: an event-fed projection (own consumer group ``allocation-reports``) and the figures read from it.

The projection tables are written only by ``projection`` from ``request.*``, ``inventory.*`` and
``allocation.*`` events; every event sets only its own fields and "latest" fields are guarded by event
time, so duplicated and reordered events leave the same rows, and replaying the topics rebuilds them.
"""
