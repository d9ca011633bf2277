"""sentiment stage."""
