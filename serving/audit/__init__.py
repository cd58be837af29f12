"""The append-only, hash-chained audit log: who did what to which objects, and when."""
