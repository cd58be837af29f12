"""Reads of the stored scores as a whole (what a score is ranked against on pages)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from serving.storage.tables import Customer


def latest_scores_sample(session: Session, limit: int) -> list[float]:
    """Up to `limit` customers' latest scores, in pseudonym order: pseudonyms are keyed
    hashes, so this is a uniform sample read along the primary key, whatever the base's
    size."""
    return [float(s) for s in session.scalars(
        select(Customer.latest_score).where(Customer.latest_score.is_not(None))
        .order_by(Customer.customer_ref).limit(limit))]
