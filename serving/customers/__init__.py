"""Customers: the only table with raw ids, and their self-service access links."""
