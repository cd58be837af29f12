"""Messages to customers (issue 15): an outbox written in the transaction of the event
that causes each message, delivered by a worker over SMTP or to a development mailbox."""
