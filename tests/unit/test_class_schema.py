"""The class body refuses what PostgreSQL cannot store, before it reaches the database."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from service.rosters.schemas import ClassIn


def test_a_title_with_nul_is_refused_and_any_other_text_is_kept() -> None:
    with pytest.raises(ValidationError, match="title"):
        ClassIn(title="Year 9\x00B")
    kept = ClassIn(title="Year 9 — B\t(2026)\n", teacher_ids=["t-1"], student_ids=["s-1"])
    assert kept.title == "Year 9 — B\t(2026)\n"
