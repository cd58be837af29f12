"""The fast path's memory of staff tokens that authenticated (`serving.auth.known`):
bounded, least recently used forgotten first, a token forgotten on request."""

from __future__ import annotations

import pytest

from serving.auth.known import KnownTokens


def test_it_keeps_at_most_its_size_forgetting_the_least_recently_used_first() -> None:
    known = KnownTokens(size=2)
    known.add("a", "u1", "agent")
    known.add("b", "u2", "agent")
    assert known.get("a") == ("u1", "agent")  # a is now the most recently used
    known.add("c", "u3", "admin")
    assert len(known) == 2
    assert known.get("b") is None  # the least recently used went
    assert known.get("a") == ("u1", "agent") and known.get("c") == ("u3", "admin")


def test_a_token_is_forgotten_on_request_and_a_new_role_replaces_the_old() -> None:
    known = KnownTokens()
    known.add("a", "u1", "agent")
    known.add("a", "u1", "admin")
    assert known.get("a") == ("u1", "admin") and len(known) == 1
    known.forget("a")
    known.forget("never-seen")  # forgetting an unknown token is no error
    assert known.get("a") is None and len(known) == 0


def test_a_size_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1, got 0"):
        KnownTokens(size=0)
