"""The retained learning events (decision 010)."""
