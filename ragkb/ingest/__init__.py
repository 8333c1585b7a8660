"""Ingest: find files, plan a sync against the catalog, parse, chunk, embed, store."""
