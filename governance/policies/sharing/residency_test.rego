package meshlake.sharing.residency_test

import data.meshlake.sharing.fixtures_test as f
import data.meshlake.sharing.residency as policy
import rego.v1

allowance := [{"from_zone": "emea", "to_zone": "americas", "datasets": ["hr.employees.employees"]}]

test_allows_sharing_within_a_region if {
	a := f.agreement
	p := f.ports
	count(policy.deny) == 0 with input.agreement as a with input.ports as p
}

test_denies_sharing_across_regions_without_an_allowance if {
	a := f.elsewhere
	p := f.ports
	denials := policy.deny with input.agreement as a with input.ports as p with data.meshlake.config.cross_region_allowances as []
	some message in denials
	contains(message, "without a cross-region allowance")
}

test_allows_sharing_across_regions_with_an_allowance if {
	a := f.elsewhere
	p := f.ports
	count(policy.deny) == 0 with input.agreement as a with input.ports as p with data.meshlake.config.cross_region_allowances as allowance
}

test_an_external_recipient_needs_an_allowance_to_external if {
	a := object.union(f.agreement, {"consumer": {"kind": "external", "id": "auditor", "zone": null, "region": null}})
	p := f.ports
	denials := policy.deny with input.agreement as a with input.ports as p with data.meshlake.config.cross_region_allowances as allowance
	some message in denials
	contains(message, "in external without a cross-region allowance")
}

test_denies_a_port_of_unknown_region if {
	a := f.agreement
	p := [object.union(f.port_with([]), {"region": null})]
	denials := policy.deny with input.agreement as a with input.ports as p
	some message in denials
	contains(message, "has no known region")
}
