"""The decided disputes for training (issue 18): `python -m serving.cli export-reviewed
--out FILE.parquet`, which `make promote` runs so that the data scientist sees how the
challenger scores every customer a reviewer judged mistaken (rectified or overturned),
beside the champion's scores at decision time. Training reads the file; it never reads
this database (training and serving never import each other).

One row per dispute: the pseudonym (never the raw id), the decision and when, the contested
prediction's model, score and band, the re-score after a rectification, and the values as
decided (`features_json`: the corrected values when rectified, the contested ones when
overturned).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from sqlalchemy.orm import Session

from serving.storage import analytics as store

COLUMNS = ["dispute_id", "customer_ref", "decision", "decided_at", "model_name",
           "model_version", "score_before", "band_before", "score_after", "band_after",
           "after_model_version", "features_json"]


def write_parquet(session: Session | None, out: str | Path) -> int:
    """Write the reviewed cases (an empty file when there is no database yet); rows."""
    import pandas as pd

    rows = [] if session is None else [asdict(c) for c in store.reviewed_cases(session)]
    for r in rows:
        r["features_json"] = r.pop("features")
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["decided_at"] = pd.to_datetime(frame["decided_at"], utc=True)
    for col in ("score_before", "score_after"):
        frame[col] = frame[col].astype("float64")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(out, index=False)
    return len(frame)
