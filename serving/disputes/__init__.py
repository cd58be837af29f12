"""Disputes: a customer contests a prediction; their record is restricted until a decision."""
