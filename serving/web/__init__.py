"""Server-rendered pages (FastAPI + Jinja2): staff sign-in, risk list, customer view,
review queue, audit; customer self-service in French and English. No JavaScript build,
no CDN: templates, CSS and the one small script are served by the app itself."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"


def mount(app: FastAPI) -> None:
    """Add the pages and their static files to the app, and the pages' answer to an
    address that names nothing (a browser reads a 404 page, the API keeps its JSON:
    `serving.web.core.not_found`, over `serving.errors.http_error`)."""
    from starlette.exceptions import HTTPException as StarletteHTTPException

    from serving.web.analytics import router as analytics_router
    from serving.web.compliance import router as compliance_router
    from serving.web.core import not_found
    from serving.web.dashboard import router as dashboard_router
    from serving.web.me import router as me_router
    from serving.web.reviews import router as reviews_router
    from serving.web.rights import router as rights_router
    from serving.web.staff import router as staff_router
    from serving.web.users import router as users_router

    app.mount("/static/web", StaticFiles(directory=STATIC), name="web-static")
    app.include_router(staff_router)
    app.include_router(reviews_router)
    app.include_router(me_router)
    app.include_router(rights_router)  # issue 18: the customer's copy, rights requests
    app.include_router(users_router)
    app.include_router(dashboard_router)
    app.include_router(analytics_router)  # issue 18: contest analytics
    app.include_router(compliance_router)  # issue 18: the compliance report
    app.add_exception_handler(StarletteHTTPException, not_found)  # a browser: a 404 page
