"""Free text a person wrote: a line break counts once (a browser posts CRLF), and spaces
around the text do not count towards a minimum (a tester stored a blank extension reason
and a blank outcome that the customer was then told)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from serving.freetext import person_text
from serving.retention.schemas import CompleteRequest, ContactAttemptCreate
from serving.rights.schemas import RightsClose, RightsExtend


def test_line_breaks_count_once_and_surrounding_spaces_go():
    assert person_text("  a\r\nb\rc\n ") == "a\nb\nc"
    assert person_text(5) == 5  # not text: left for the type check


@pytest.mark.parametrize("blank", ["          ", " \r\n \t ", "   "])
def test_blank_reasons_and_outcomes_are_refused(blank):
    with pytest.raises(ValidationError, match="at least 10 characters"):
        RightsExtend(reason=blank + "short" + blank)  # 5 characters once trimmed
    with pytest.raises(ValidationError, match="at least 3 characters"):
        RightsClose(status="done", outcome=blank)
    assert RightsExtend(reason="  We need two more weeks.  ").reason == "We need two more weeks."


def test_a_note_that_fits_the_textarea_fits_the_api():
    lines = ["x" * 399] * 10  # 3,990 characters and 9 line breaks: 3,999 in the textarea
    posted = "\r\n".join(lines)  # 4,008 as the browser posts it
    assert len(posted) > 4000
    assert len(ContactAttemptCreate(channel="phone", note=posted).note) == 3999
    assert len(CompleteRequest(outcome="retained", note=posted).note) == 3999
    with pytest.raises(ValidationError):
        ContactAttemptCreate(channel="phone", note="y" * 4001)


def test_the_api_refuses_a_blank_extension_reason(api, customers):
    from tests.serving.conftest import access_token, bearer

    api.score(customers[0])
    me = bearer(access_token(api, customers[0]["customer_id"]))
    r = api.client.post("/v1/me/rights-requests", headers=me, json={"kind": "access"})
    assert r.status_code == 201, r.text
    rid = r.json()["request_id"]
    r = api.client.post(f"/v1/rights-requests/{rid}/extend", headers=api.headers("reviewer"),
                        json={"reason": "          "})
    assert r.status_code == 422 and r.json()["fields"] == ["reason"], r.text
    r = api.client.post(f"/v1/rights-requests/{rid}/close", headers=api.headers("reviewer"),
                        json={"status": "done", "outcome": "   "})
    assert r.status_code == 422 and r.json()["fields"] == ["outcome"], r.text
