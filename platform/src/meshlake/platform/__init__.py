"""meshlake-platform: the self-serve SDK domain teams use to publish data products.

The front door: load and validate specs, publish products (on Spark into Delta, governed by the
governance service over HTTP), and the Platform facade that the ``meshlake`` CLI and Python users
share. Names are imported on first use, so that
``meshlake validate`` and other spec-only commands start without loading pyspark.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from meshlake.platform._lazy import lazy_exports

if TYPE_CHECKING:
    from meshlake.platform._errors import ConfigurationError as ConfigurationError
    from meshlake.platform._errors import ConformanceError as ConformanceError
    from meshlake.platform._errors import MaterializationError as MaterializationError
    from meshlake.platform._errors import MeshlakeError as MeshlakeError
    from meshlake.platform._governance import GovernanceClient as GovernanceClient
    from meshlake.platform._governance import GovernanceError as GovernanceError
    from meshlake.platform._governance import GovernanceUnavailable as GovernanceUnavailable
    from meshlake.platform._governance import zone_payload as zone_payload
    from meshlake.platform._ids import PortRef as PortRef
    from meshlake.platform._ids import ProductRef as ProductRef
    from meshlake.platform._locations import is_uri as is_uri
    from meshlake.platform._locations import port_location as port_location
    from meshlake.platform._locations import raw_location as raw_location
    from meshlake.platform._locations import zone_root as zone_root
    from meshlake.platform._materialize import PortResult as PortResult
    from meshlake.platform._platform import Platform as Platform
    from meshlake.platform._publish import GovernanceUnreachable as GovernanceUnreachable
    from meshlake.platform._publish import ProductResult as ProductResult
    from meshlake.platform._publish import PublicationDenied as PublicationDenied
    from meshlake.platform._publish import Publisher as Publisher
    from meshlake.platform._settings import Settings as Settings
    from meshlake.platform._sharing import AgreementMissing as AgreementMissing
    from meshlake.platform._sharing import ReadTerms as ReadTerms
    from meshlake.platform._spark import spark_session as spark_session
    from meshlake.platform._spark import stop_spark as stop_spark
    from meshlake.platform._storage import drop_files as drop_files
    from meshlake.platform._storage import filesystem as filesystem
    from meshlake.platform._storage import is_object_store as is_object_store
    from meshlake.platform._storage import storage_options as storage_options
    from meshlake.platform._transforms import TransformContext as TransformContext
    from meshlake.platform.specs import Mesh as Mesh
    from meshlake.platform.specs import SpecError as SpecError
    from meshlake.platform.specs import load_mesh as load_mesh
    from meshlake.platform.specs import validate_mesh as validate_mesh

_PUBLIC = {
    "ConfigurationError": "meshlake.platform._errors",
    "ConformanceError": "meshlake.platform._errors",
    "MaterializationError": "meshlake.platform._errors",
    "MeshlakeError": "meshlake.platform._errors",
    "PortRef": "meshlake.platform._ids",
    "ProductRef": "meshlake.platform._ids",
    "is_uri": "meshlake.platform._locations",
    "port_location": "meshlake.platform._locations",
    "raw_location": "meshlake.platform._locations",
    "zone_root": "meshlake.platform._locations",
    "GovernanceClient": "meshlake.platform._governance",
    "GovernanceError": "meshlake.platform._governance",
    "zone_payload": "meshlake.platform._governance",
    "GovernanceUnavailable": "meshlake.platform._governance",
    "GovernanceUnreachable": "meshlake.platform._publish",
    "PortResult": "meshlake.platform._materialize",
    "Platform": "meshlake.platform._platform",
    "ProductResult": "meshlake.platform._publish",
    "PublicationDenied": "meshlake.platform._publish",
    "Publisher": "meshlake.platform._publish",
    "Settings": "meshlake.platform._settings",
    "AgreementMissing": "meshlake.platform._sharing",
    "ReadTerms": "meshlake.platform._sharing",
    "spark_session": "meshlake.platform._spark",
    "stop_spark": "meshlake.platform._spark",
    "drop_files": "meshlake.platform._storage",
    "filesystem": "meshlake.platform._storage",
    "is_object_store": "meshlake.platform._storage",
    "storage_options": "meshlake.platform._storage",
    "TransformContext": "meshlake.platform._transforms",
    "Mesh": "meshlake.platform.specs",
    "SpecError": "meshlake.platform.specs",
    "load_mesh": "meshlake.platform.specs",
    "validate_mesh": "meshlake.platform.specs",
}

__all__ = sorted(_PUBLIC)

__getattr__ = lazy_exports(__name__, _PUBLIC)
