"""meshlake-orchestration: Dagster definitions for every data product.

Built by the orchestration issue; this member installs so the workspace is whole.
"""
