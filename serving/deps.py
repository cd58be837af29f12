"""Shared request dependencies: settings, database session, served model, spec cache."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from fastapi import Query, Request
from sqlalchemy.orm import Session

from serving.config import Settings
from serving.modelhost import ModelHost, ServedModel
from serving.scoring.service import ScoreWriter
from serving.specs import SpecCache

Lang = Literal["en", "fr"]


def settings(request: Request) -> Settings:
    return request.app.state.settings


def session(request: Request) -> Iterator[Session]:
    """A session per request. Services commit explicitly; this only closes it
    (rolling back anything left uncommitted)."""
    with request.app.state.db.session() as s:
        yield s


def host(request: Request) -> ModelHost:
    return request.app.state.host


def served(request: Request) -> ServedModel:
    return request.app.state.host.current()


def specs(request: Request) -> SpecCache:
    return request.app.state.specs


def lang(lang: Lang = Query("en", description="Language of the explanations")) -> str:
    return lang


def score_writer(request: Request) -> ScoreWriter:
    return request.app.state.score_writer
