"""Struggle alerts, in one place, each module one role:

- ``table.py``: the ``struggle_alerts`` table (SQLModel; created by the Alembic
  migrations);
- ``repository.py``: every read and write of that table (SQLAlchemy Core);
- ``stream.py``: live alerts for Server-Sent Events (LISTEN/NOTIFY);
- ``schemas.py``: the alert bodies of the HTTP API;
- ``messages.py``: the ``struggle.detected`` message.

The words they share (kinds, statuses, timestamps) are in actors/vocabulary.py; the rules
that raise alerts in actors/rules.py; the HTTP routes in service/frontend/routes/struggles.py.
"""
