"""Rule sets as data: versioned thresholds, a dry run, an explicit apply (issue 13)."""
