"""Data product specs: landing zones, domains, ODPS descriptors and ODCS contracts, loaded and checked."""

from meshlake.platform.specs._agreements import AGREEMENT_SCHEMA_FILE as AGREEMENT_SCHEMA_FILE
from meshlake.platform.specs._agreements import AgreementConsumer as AgreementConsumer
from meshlake.platform.specs._agreements import AgreementPort as AgreementPort
from meshlake.platform.specs._agreements import AgreementSpec as AgreementSpec
from meshlake.platform.specs._agreements import SharingAgreement as SharingAgreement
from meshlake.platform.specs._agreements import Term as Term
from meshlake.platform.specs._classification import highest_classification as highest_classification
from meshlake.platform.specs._loader import ValidationReport as ValidationReport
from meshlake.platform.specs._loader import load_mesh as load_mesh
from meshlake.platform.specs._loader import validate_mesh as validate_mesh
from meshlake.platform.specs._mesh import InputBinding as InputBinding
from meshlake.platform.specs._mesh import Mesh as Mesh
from meshlake.platform.specs._mesh import PortSpec as PortSpec
from meshlake.platform.specs._mesh import ProductSpec as ProductSpec
from meshlake.platform.specs._mesh import RawSourceSpec as RawSourceSpec
from meshlake.platform.specs._mesh import UnknownProductError as UnknownProductError
from meshlake.platform.specs._models import Contract as Contract
from meshlake.platform.specs._models import Domain as Domain
from meshlake.platform.specs._models import LandingZone as LandingZone
from meshlake.platform.specs._models import ProductDescriptor as ProductDescriptor
from meshlake.platform.specs._models import SchemaProperty as SchemaProperty
from meshlake.platform.specs._models import SlaProperty as SlaProperty
from meshlake.platform.specs._problems import Problem as Problem
from meshlake.platform.specs._problems import SpecError as SpecError
from meshlake.platform.specs._sla import sla_duration as sla_duration
from meshlake.platform.specs._types import spark_type as spark_type
