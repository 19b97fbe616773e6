"""Use cases: verb-named functions that each own one transaction."""
