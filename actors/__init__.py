"""The student actor and the pure domain logic it runs (no I/O outside actor.py)."""
