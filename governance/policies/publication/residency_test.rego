package meshlake.publication.residency_test

import data.meshlake.publication.fixtures_test as f
import data.meshlake.publication.residency as policy
import rego.v1

eu_input := {
	"name": "employees",
	"contract_id": "hr.employees.employees",
	"kind": "product",
	"domain": "hr",
	"zone": "emea",
	"region": "westeurope",
}

allowance := [{"from_zone": "emea", "to_zone": "americas", "datasets": ["hr.employees.employees"]}]

test_allows_reads_within_a_region if {
	p := f.product
	count(policy.deny) == 0 with input.product as p
}

test_denies_a_cross_region_read_without_allowance if {
	p := object.union(f.product, {"inputs": [eu_input]})
	denials := policy.deny with input.product as p with data.meshlake.config.cross_region_allowances as []
	denials == {"sales.accounts (zone americas, region eastus) reads hr.employees.employees from zone emea in region westeurope without a cross-region allowance"}
}

test_allows_a_cross_region_read_with_allowance if {
	p := object.union(f.product, {"inputs": [eu_input]})
	a := allowance
	count(policy.deny) == 0 with input.product as p with data.meshlake.config.cross_region_allowances as a
}

test_an_allowance_covers_only_its_datasets if {
	other := object.union(eu_input, {"contract_id": "hr.engagement_retention.engagement_retention"})
	p := object.union(f.product, {"inputs": [other]})
	a := allowance
	count(policy.deny) == 1 with input.product as p with data.meshlake.config.cross_region_allowances as a
}

test_denies_an_input_whose_region_is_unknown if {
	unknown := object.union(eu_input, {"region": ""})
	p := object.union(f.product, {"inputs": [unknown]})
	denials := policy.deny with input.product as p
	denials == {"sales.accounts reads hr.employees.employees whose region is unknown; residency cannot be judged, so it is denied"}
}

test_denies_an_input_without_a_region if {
	unknown := object.remove(eu_input, {"region"})
	p := object.union(f.product, {"inputs": [unknown]})
	count(policy.deny) == 1 with input.product as p
}

test_denies_an_input_whose_zone_is_unknown_even_within_the_region if {
	unknown := object.union(eu_input, {"zone": "", "region": "eastus"})
	p := object.union(f.product, {"inputs": [unknown]})
	denials := policy.deny with input.product as p
	denials == {"sales.accounts reads hr.employees.employees whose landing zone is unknown; no cross-region allowance can cover it, so it is denied"}
}

test_denies_a_product_whose_region_is_unknown if {
	p := object.union(f.product, {"region": ""})
	denials := policy.deny with input.product as p
	denials == {"sales.accounts has no known region; residency cannot be judged, so it is denied"}
}
