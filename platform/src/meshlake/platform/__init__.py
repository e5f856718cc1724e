"""meshlake-platform: the self-serve SDK domain teams use to publish data products.

The front door: load and validate specs, materialize products on Spark into Delta, and the Platform
facade that the ``meshlake`` CLI and Python users share.
"""

from meshlake.platform._errors import ConfigurationError as ConfigurationError
from meshlake.platform._errors import ConformanceError as ConformanceError
from meshlake.platform._errors import MaterializationError as MaterializationError
from meshlake.platform._errors import MeshlakeError as MeshlakeError
from meshlake.platform._ids import PortRef as PortRef
from meshlake.platform._ids import ProductRef as ProductRef
from meshlake.platform._materialize import Materializer as Materializer
from meshlake.platform._materialize import PortResult as PortResult
from meshlake.platform._materialize import ProductResult as ProductResult
from meshlake.platform._platform import Platform as Platform
from meshlake.platform._settings import Settings as Settings
from meshlake.platform._spark import spark_session as spark_session
from meshlake.platform._spark import stop_spark as stop_spark
from meshlake.platform._transforms import TransformContext as TransformContext
from meshlake.platform.specs import Mesh as Mesh
from meshlake.platform.specs import SpecError as SpecError
from meshlake.platform.specs import load_mesh as load_mesh
from meshlake.platform.specs import validate_mesh as validate_mesh
