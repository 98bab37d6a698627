"""Teachers' digests (issue 24): a daily or weekly summary per teacher of the classes they
teach, by email or chat webhook (docs/digests.md)."""
