"""HTTP routes: each parses the request, calls a service in one transaction, shapes the
response. No business rule lives here."""
