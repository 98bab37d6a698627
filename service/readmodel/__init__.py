"""The progress read model: mastery per student and topic, and its daily history, for the
teachers' class views (written from the actors' outboxes)."""
