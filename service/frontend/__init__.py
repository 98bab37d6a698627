"""The front end role (``PROGRESS_ROLE=api``, or ``all``): the public HTTP API, the
console, the alert stream and the xAPI statements resource. It reads the read model and
the alert table and reaches actors only through daprd; it hosts no actor type and
subscribes to nothing. Its composition root: root.py."""
