"""Self-serve onboarding: scaffold a domain and a product that validate and run as written."""

from meshlake.platform.scaffold._common import Scaffolded as Scaffolded
from meshlake.platform.scaffold._common import ScaffoldError as ScaffoldError
from meshlake.platform.scaffold._domain import new_domain as new_domain
from meshlake.platform.scaffold._product import ProductRequest as ProductRequest
from meshlake.platform.scaffold._product import new_product as new_product
