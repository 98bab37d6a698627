"""The actor host role (``PROGRESS_ROLE=actors``, or ``all``): the intake of Kafka
deliveries, the student and class actors, their reminders and outbox. It serves no
public route but health and metrics. Its composition root: root.py."""
