"""Contest analytics (issue 18)."""
