"""The retention schedule and its purge (issue 18)."""
