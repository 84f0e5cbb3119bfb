"""Real-HTTP test servers that speak the vendors' wire protocols, backed by real local models."""
