"""Read-only lookups the pages need that no service offers (yet). Nothing here writes or
decides anything: every change goes through the services of `serving/`.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from serving.storage.tables import RetentionTask, StaffUser


def task_statuses(session: Session, task_ids: list[str]) -> dict[str, tuple[str, str | None]]:
    """status and claimant of each task id."""
    if not task_ids:
        return {}
    rows = session.execute(
        select(RetentionTask.id, RetentionTask.status, RetentionTask.claimed_by)
        .where(RetentionTask.id.in_(task_ids))
    ).all()
    return {r[0]: (r[1], r[2]) for r in rows}


def staff_names(session: Session, actors: list[str | None]) -> dict[str, str]:
    """"staff:<id>" -> the user's name, for showing who claimed a task."""
    ids = {a.split(":", 1)[1] for a in actors if a and a.startswith("staff:")}
    names = {a: "administrator" for a in actors if a == "admin:bootstrap"}
    if ids:
        for uid, name in session.execute(
                select(StaffUser.id, StaffUser.name).where(StaffUser.id.in_(ids))):
            names[f"staff:{uid}"] = name
    return names
