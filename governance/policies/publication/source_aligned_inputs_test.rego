package meshlake.publication.source_aligned_inputs_test

import data.meshlake.publication.fixtures_test as f
import data.meshlake.publication.source_aligned_inputs as policy
import rego.v1

foreign_input := {
	"name": "employees",
	"contract_id": "hr.employees.employees",
	"kind": "product",
	"domain": "hr",
	"zone": "americas",
	"region": "eastus",
}

test_allows_a_consumer_aligned_product_to_read_other_domains if {
	p := object.union(f.product, {"inputs": [foreign_input]})
	count(policy.deny) == 0 with input.product as p
}

test_denies_a_bronze_product_reading_another_domain if {
	p := object.union(f.product, {"tier": "bronze", "inputs": [foreign_input]})
	denials := policy.deny with input.product as p
	denials == {"source-aligned product sales.accounts reads hr.employees.employees of domain hr; source-aligned products read only their own domain"}
}

test_denies_a_product_tagged_source_aligned_reading_another_domain if {
	p := object.union(f.product, {"tags": ["source-aligned"], "inputs": [foreign_input]})
	count(policy.deny) == 1 with input.product as p
}

test_allows_a_bronze_product_reading_its_own_domain if {
	p := object.union(f.product, {"tier": "bronze"})
	count(policy.deny) == 0 with input.product as p
}

test_denies_a_source_aligned_product_reading_an_input_of_unknown_domain if {
	unknown := object.union(foreign_input, {"domain": ""})
	p := object.union(f.product, {"tier": "bronze", "inputs": [unknown]})
	denials := policy.deny with input.product as p
	denials == {"source-aligned product sales.accounts reads hr.employees.employees whose domain is unknown; it cannot be shown to be its own domain's, so it is denied"}
}

test_denies_a_source_aligned_product_reading_an_input_without_a_domain if {
	unknown := object.remove(foreign_input, {"domain"})
	p := object.union(f.product, {"tags": ["source-aligned"], "inputs": [unknown]})
	count(policy.deny) == 1 with input.product as p
}

test_allows_a_consumer_aligned_product_reading_an_input_of_unknown_domain if {
	unknown := object.union(foreign_input, {"domain": ""})
	p := object.union(f.product, {"inputs": [unknown]})
	count(policy.deny) == 0 with input.product as p
}
