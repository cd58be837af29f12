"""Recourse (issue 16): what would lower a customer's risk, searched exactly with the
served model (`models.recourse`), for staff (API and customer page) and for the customer."""
