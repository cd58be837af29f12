"""The compliance report (issue 18): the record of processing and its evidence."""
