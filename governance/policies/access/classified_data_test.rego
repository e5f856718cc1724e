package meshlake.access.classified_data_test

import data.meshlake.access.classified_data as policy
import rego.v1

employees := {"ref": "hr.employees.employees", "domain": "hr", "classification": "sensitive"}

sales_analyst := {"name": "ana@example.com", "roles": [{"role": "domain_member", "domain": "sales"}]}

agreement := {"consumer_domain": "sales", "dataset": "hr.employees.employees", "valid_until": "2027-12-31"}

test_denies_another_domain_without_agreement if {
	who := sales_analyst
	what := employees
	denials := policy.deny with input.principal as who with input.dataset as what with input.action as "read" with input.agreements as [] with input.today as "2026-11-22"
	denials == {"ana@example.com may not read hr.employees.employees (sensitive data of domain hr): no active sharing agreement covers it for sales"}
}

test_allows_another_domain_under_an_active_agreement if {
	who := sales_analyst
	what := employees
	agreements := [agreement]
	count(policy.deny) == 0 with input.principal as who with input.dataset as what with input.action as "read" with input.agreements as agreements with input.today as "2026-11-22"
}

test_an_expired_agreement_does_not_cover if {
	who := sales_analyst
	what := employees
	agreements := [agreement]
	count(policy.deny) == 1 with input.principal as who with input.dataset as what with input.action as "read" with input.agreements as agreements with input.today as "2028-01-01"
}

test_the_owning_domain_reads_its_own_data if {
	who := {"name": "ines@example.com", "roles": [{"role": "domain_owner", "domain": "hr"}]}
	what := employees
	count(policy.deny) == 0 with input.principal as who with input.dataset as what with input.action as "read" with input.agreements as [] with input.today as "2026-11-22"
}

test_internal_data_needs_no_agreement if {
	who := sales_analyst
	what := object.union(employees, {"classification": "internal"})
	count(policy.deny) == 0 with input.principal as who with input.dataset as what with input.action as "read" with input.agreements as [] with input.today as "2026-11-22"
}
