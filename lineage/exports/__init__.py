"""Lineage exported to the metadata standards registries and data platforms read (Croissant, OpenLineage)."""
