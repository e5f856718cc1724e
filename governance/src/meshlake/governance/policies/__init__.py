"""Policy-as-code: Rego v1 policies per decision (publication, review, access), evaluated in-process.

Each decision has one reused regopy interpreter holding its modules and configuration; inputs are
validated against the decision's JSON Schema first, so a policy never sees a shape it was not
written for.
"""

from meshlake.governance.policies._bundle import DECISIONS as DECISIONS
from meshlake.governance.policies._bundle import PolicyBundle as PolicyBundle
from meshlake.governance.policies._bundle import load_bundle as load_bundle
from meshlake.governance.policies._engine import SHIPPED_POLICIES as SHIPPED_POLICIES
from meshlake.governance.policies._engine import Decision as Decision
from meshlake.governance.policies._engine import PolicyEngine as PolicyEngine
from meshlake.governance.policies._engine import PolicySettings as PolicySettings
from meshlake.governance.policies._engine import Reason as Reason
from meshlake.governance.policies._engine import default_engine as default_engine
from meshlake.governance.policies._errors import PolicyDeniedError as PolicyDeniedError
from meshlake.governance.policies._errors import PolicyError as PolicyError
from meshlake.governance.policies._errors import PolicyEvaluationError as PolicyEvaluationError
from meshlake.governance.policies._errors import PolicyInputError as PolicyInputError
from meshlake.governance.policies._errors import PolicyLoadError as PolicyLoadError
from meshlake.governance.policies._inputs import product_input as product_input
from meshlake.governance.policies._inputs import publication_input as publication_input
from meshlake.governance.policies._selection import UnknownPolicyError as UnknownPolicyError
from meshlake.governance.policies._selection import merge_decisions as merge_decisions
from meshlake.governance.policies._selection import select_policies as select_policies
