"""meshlake-orchestration: every data product as Dagster assets, one code location per landing zone.

`meshlake run` materializes the mesh through Dagster in one process; `meshlake ui` opens the UI on the
same local instance. At scale, `meshlake daemon` runs Dagster's daemon on a PostgreSQL instance.
"""

from meshlake.orchestration._assets import mesh_assets as mesh_assets
from meshlake.orchestration._assets import product_asset as product_asset
from meshlake.orchestration._checks import DRIFT_CHECK as DRIFT_CHECK
from meshlake.orchestration._checks import SCHEMA_CHECK as SCHEMA_CHECK
from meshlake.orchestration._definitions import mesh_definitions as mesh_definitions
from meshlake.orchestration._definitions import zone_definitions as zone_definitions
from meshlake.orchestration._instance import PRODUCT_TAG as PRODUCT_TAG
from meshlake.orchestration._instance import DagsterSettings as DagsterSettings
from meshlake.orchestration._instance import daemon_instance as daemon_instance
from meshlake.orchestration._instance import persistent_instance as persistent_instance
from meshlake.orchestration._instance import write_workspace as write_workspace
from meshlake.orchestration._keys import port_key as port_key
from meshlake.orchestration._keys import raw_key as raw_key
from meshlake.orchestration._resources import MeshlakeResource as MeshlakeResource
from meshlake.orchestration._run import MeshRun as MeshRun
from meshlake.orchestration._run import run_mesh as run_mesh
