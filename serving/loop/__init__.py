"""Closing the loop (issue 17): who actually left (churn events and observed labels), the
randomised control group, the contact effect, retraining from the live system; and
(another part of the issue) monitoring, drift, the dashboard and uplift targeting."""
