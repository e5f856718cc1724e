package meshlake.publication.sla_declared_test

import data.meshlake.publication.fixtures_test as f
import data.meshlake.publication.sla_declared as policy
import rego.v1

test_allows_a_port_with_latency_and_retention if {
	p := f.product
	count(policy.deny) == 0 with input.product as p
}

test_denies_a_port_without_retention if {
	p := f.with_port(object.union(f.port, {"sla": {"latency": {"value": 1, "unit": "d", "days": 1}}}))
	denials := policy.deny with input.product as p
	denials == {"output port sales.accounts.accounts states no retention: add slaProperties retention with value and unit"}
}

test_denies_a_latency_that_is_not_a_duration if {
	p := f.with_port(object.union(f.port, {"sla": {
		"latency": {"value": "fast", "unit": null},
		"retention": {"value": 1, "unit": "y", "days": 365},
	}}))
	denials := policy.deny with input.product as p
	count(denials) == 1
}
