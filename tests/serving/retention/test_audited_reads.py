"""Reading a list of customers is audited by the service that reads it: once per read,
whichever entry point serves it (the JSON API, the pages, or a direct call), and no call
can leave the reader out."""

import inspect

import pytest
import sqlalchemy as sa

from serving.auth.principal import Principal
from serving.retention import service
from serving.storage.tables import AuditEvent

READER = Principal(kind="staff", role="agent", actor="staff:test-reader")
READS = {"risk_list.read": service.risk_list, "retention_tasks.read": service.list_tasks}


def _events(app, action):  # noqa: ANN001, ANN202
    with app.state.db.session() as s:
        return list(s.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)
                              .order_by(AuditEvent.seq)))


@pytest.mark.parametrize("action", sorted(READS))
def test_the_reader_is_required(action):
    reader = inspect.signature(READS[action]).parameters["reader"]
    assert reader.kind is inspect.Parameter.KEYWORD_ONLY
    assert reader.default is inspect.Parameter.empty


@pytest.mark.parametrize("action", sorted(READS))
def test_a_direct_call_is_audited_once(app, api, customers, action):  # noqa: ANN001
    api.score(customers[:12])
    before = len(_events(app, action))
    with app.state.db.session() as s:
        READS[action](s, app.state.specs, limit=5, reader=READER, via="test")
    after = _events(app, action)
    assert len(after) == before + 1
    assert after[-1].actor == READER.actor and '"via":"test"' in after[-1].objects


@pytest.mark.parametrize(("path", "action"), [("/v1/risk-list", "risk_list.read"),
                                              ("/v1/retention-tasks", "retention_tasks.read")])
def test_an_api_read_is_audited_once(app, api, customers, path, action):  # noqa: ANN001
    api.score(customers[:12])
    before = len(_events(app, action))
    assert api.get(path, limit=3).status_code == 200
    assert len(_events(app, action)) == before + 1
