"""Class rosters: who teaches and who is enrolled in which class."""
