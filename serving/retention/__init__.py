"""Retention: the human contact queue and the precomputed risk list."""
