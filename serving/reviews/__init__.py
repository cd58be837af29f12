"""Reviews: reviewers decide disputes (uphold, rectify and re-score, overturn)."""
