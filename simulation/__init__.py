"""A world to test the closed loop in (issue 17): a synthetic customer base that evolves,
answers to contact with a known heterogeneous effect, drifts, and leaves; scored, worked,
monitored and learned from through the real service. `make simulate MONTHS=6`.

This package may import both `training` and `serving` (like `bench`); they never import
each other."""
