"""Objections to profiling (GDPR Art. 21): while one stands, the customer is never scored."""
