"""Pure product rules: no database, no web framework, no clock. Time is passed in."""
