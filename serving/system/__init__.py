"""Health, readiness, metrics, the served model and its reload, staff users."""
