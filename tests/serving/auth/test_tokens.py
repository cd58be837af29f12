"""Token formats and the rate limiter, without HTTP."""

from datetime import UTC, datetime, timedelta

import pytest

from serving.auth.ratelimit import RateLimiter
from serving.auth.tokens import LinkInvalid, hash_token, issue_link, new_staff_token, read_link


def test_staff_tokens_are_random_and_hashed():
    a, b = new_staff_token(), new_staff_token()
    assert a != b and a.startswith("st_") and len(a) > 40
    assert hash_token(a) != a and len(hash_token(a)) == 64


def test_link_round_trip_and_scope():
    link = issue_link("cu_abc", "secret", timedelta(hours=1))
    assert read_link(link.token, "secret") == "cu_abc"
    assert "cu_abc" != link.token and link.expires_at > datetime.now(UTC)


def test_forged_link_refused():
    link = issue_link("cu_abc", "secret", timedelta(hours=1))
    with pytest.raises(LinkInvalid):
        read_link(link.token, "other-secret")
    tampered = link.token[:-2] + ("A" if link.token[-2] != "A" else "B") + link.token[-1]
    with pytest.raises(LinkInvalid):
        read_link(tampered, "secret")


def test_expired_link_refused():
    past = datetime.now(UTC) - timedelta(hours=2)
    link = issue_link("cu_abc", "secret", timedelta(hours=1), now=past)
    with pytest.raises(LinkInvalid, match="expired"):
        read_link(link.token, "secret")


def test_rate_limiter_window():
    now = [0.0]
    limiter = RateLimiter(3, 10, clock=lambda: now[0])
    assert [limiter.hit("a") for _ in range(3)] == [None, None, None]
    assert limiter.hit("a") == pytest.approx(10)
    assert limiter.hit("b") is None  # other keys are counted apart
    now[0] = 10.0
    assert limiter.hit("a") is None
