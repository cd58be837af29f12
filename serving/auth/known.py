"""Staff tokens that authenticated recently in this process, for the scoring fast path.

Every staff request looks its token up (`serving.auth.deps.authenticate`: a revoked,
rotated or deactivated token is refused from its next request on). On the busiest path,
POST /v1/predictions, that read was 7.7 % of the event loop's samples under load (py-spy),
with the loop the server's bound; remembering tokens as below answered a median 1.09x the
predictions a second in nine alternating pairs (README, "Benchmarks"). There
the fast path (`serving.scoring.fastpath`) remembers which user and role a token stood for
when it last authenticated, and lets the prediction through on that memory, never as the
decision: the prediction carries the token's hash to its write, which confirms it in its
own transaction, against the table as it stands when the write takes its lock
(`serving.storage.staff.active_by_token_hashes`, once per group commit), and stores nothing
if the token is no longer active with that role (`TokenWithdrawn`). The fast path then
forgets it and hands the request to the route, which looks the token up again and answers
as it answers any request (401, 403, or the prediction under the user's new role). So
nothing is stored on a withdrawn token, however recently it worked, and the write is
confirmed later than a lookup before it could.

Only tokens that authenticated are kept (an unknown or refused token is looked up on each
request, so guessing fills nothing), at most `size`, the least recently used forgotten
first. It lives in the event loop: no lock."""

from __future__ import annotations

from collections import OrderedDict


class KnownTokens:
    """token hash -> (user id, role), as the token last authenticated."""

    def __init__(self, size: int = 1024) -> None:
        if size < 1:
            raise ValueError(f"size must be at least 1, got {size}")
        self.size = size
        self._known: OrderedDict[str, tuple[str, str]] = OrderedDict()

    def get(self, token_hash: str) -> tuple[str, str] | None:
        """The user and role `token_hash` stood for, if remembered."""
        found = self._known.get(token_hash)
        if found is not None:
            self._known.move_to_end(token_hash)
        return found

    def add(self, token_hash: str, user_id: str, role: str) -> None:
        """Remember a token that just authenticated."""
        self._known[token_hash] = (user_id, role)
        self._known.move_to_end(token_hash)
        while len(self._known) > self.size:
            self._known.popitem(last=False)

    def forget(self, token_hash: str) -> None:
        """Forget a token the write refused (`TokenWithdrawn`)."""
        self._known.pop(token_hash, None)

    def __len__(self) -> int:
        return len(self._known)
