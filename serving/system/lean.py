"""What the server process leaves out of its imports.

LightGBM imports scikit-learn whenever it is installed (and scikit-learn, SciPy's
statistics), only to offer its scikit-learn estimators. The server scores with LightGBM's
`Booster` and the model's own tables: it never uses them. Left out, `serve` answers about
1.5 s sooner after each start or restart (measured: the server's imports 3.1-3.8 s against
4.5-5.2 s), which is also how long a restarted server keeps predictions waiting.
"""

from __future__ import annotations

import sys

UNUSED = ("sklearn",)  # imported by LightGBM only for estimators the server never builds


def leave_out_unused() -> bool:
    """Mark `UNUSED` absent in this process, so LightGBM, imported next, leaves out its
    scikit-learn estimators (`lightgbm.compat.SKLEARN_INSTALLED` is false). Only `serve`
    calls it, first: a process that trains needs them. Does nothing (False) once LightGBM
    or any of `UNUSED` is imported."""
    if "lightgbm" in sys.modules or any(name in sys.modules for name in UNUSED):
        return False
    for name in UNUSED:
        sys.modules[name] = None  # `import sklearn` raises ImportError, as if not installed
    return True
