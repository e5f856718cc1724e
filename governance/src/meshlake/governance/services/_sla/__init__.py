"""SLA evidence: whether an output port keeps the SLA terms promised on it, from its Delta log.

Pure: no tables of its own. The agreements and incidents code parses each agreement's terms
(``contract_terms(session, dataset).stricter(agreement_items)``), gets the port's catalog facts
(``port_facts(session, dataset)``), calls ``evaluate`` (or ``evaluate_many``) and stores the
``Evaluation``; earlier evaluations come back as the history availability is measured on. Log
reads are cached per (location, Delta version) in ``LogFacts``.
"""

from meshlake.governance.services._sla._catalog import contract_terms as contract_terms
from meshlake.governance.services._sla._catalog import port_facts as port_facts
from meshlake.governance.services._sla._evaluate import evaluate as evaluate
from meshlake.governance.services._sla._evaluate import evaluate_many as evaluate_many
from meshlake.governance.services._sla._evidence import PROPERTIES as PROPERTIES
from meshlake.governance.services._sla._evidence import CheckResult as CheckResult
from meshlake.governance.services._sla._evidence import Evaluation as Evaluation
from meshlake.governance.services._sla._evidence import Evidence as Evidence
from meshlake.governance.services._sla._evidence import PortFacts as PortFacts
from meshlake.governance.services._sla._evidence import Status as Status
from meshlake.governance.services._sla._facts import Commit as Commit
from meshlake.governance.services._sla._facts import LogFacts as LogFacts
from meshlake.governance.services._sla._facts import TableFacts as TableFacts
from meshlake.governance.services._sla._quality import checks_from_summary as checks_from_summary
from meshlake.governance.services._sla._quality import rule_severities as rule_severities
from meshlake.governance.services._sla._terms import SlaTerms as SlaTerms
from meshlake.governance.services._sla._terms import SlaTermsError as SlaTermsError
