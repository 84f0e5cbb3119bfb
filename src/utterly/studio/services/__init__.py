"""What the Studio does, on a database session and an actor; no HTTP here."""
