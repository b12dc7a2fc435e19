"""The shared base databases (共享基础库): golden records with history (SCD type 2) and attribute-level
provenance, merged from the standardised layer, on SQLite (embedded default) and PostgreSQL.

Pure core, no Dagster: the Dagster assets ``base/<table>`` are thin wrappers over this API.
"""
