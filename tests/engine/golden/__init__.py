"""Golden test vectors of docs/FORMAT.md: see README.md here."""
