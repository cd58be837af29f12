"""Who may do what: staff bearer tokens with roles, customer access links, rate limits."""

from serving.auth.principal import Principal
from serving.auth.tokens import AccessLink, hash_token, issue_link, new_staff_token, read_link

__all__ = ["AccessLink", "Principal", "hash_token", "issue_link", "new_staff_token", "read_link"]
