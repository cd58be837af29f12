"""Scoring: validate, score, explain, route and store every prediction as a receipt."""
