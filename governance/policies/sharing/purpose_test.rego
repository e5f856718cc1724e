package meshlake.sharing.purpose_test

import data.meshlake.sharing.fixtures_test as f
import data.meshlake.sharing.purpose as policy
import rego.v1

test_allows_internal_and_masked_columns_for_reporting if {
	a := f.agreement
	p := f.ports
	count(policy.deny) == 0 with input.agreement as a with input.ports as p
}

test_denies_plain_personal_data_for_reporting if {
	a := f.agreement
	p := [f.port_with([f.column("full_name", "personal", "plain")])]
	denials := policy.deny with input.agreement as a with input.ports as p
	count(denials) == 1
	some message in denials
	contains(message, "hr.employees.employees.full_name is personal data as delivered plain")
}

test_denies_an_unknown_purpose if {
	a := object.union(f.agreement, {"purpose": "curiosity"})
	p := f.ports
	denials := policy.deny with input.agreement as a with input.ports as p
	some message in denials
	contains(message, "purpose curiosity is not one the sharing policies know")
}
