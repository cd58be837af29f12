"""Rights requests as tracked cases and the customer's own copy (issue 18)."""
