"""meshlake-governance: the central governance service (catalog, search, lineage, policies).

Built by the governance issue; this member installs so the workspace is whole.
"""
