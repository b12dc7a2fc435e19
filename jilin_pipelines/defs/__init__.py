"""The Dagster layer: thin, generated from the catalogue. Nothing outside ``defs/`` imports it."""
