package meshlake.sharing.max_duration_test

import data.meshlake.sharing.fixtures_test as f
import data.meshlake.sharing.max_duration as policy
import rego.v1

test_allows_a_year_of_internal_and_masked_data if {
	a := f.agreement
	p := f.ports
	count(policy.deny) == 0 with input.agreement as a with input.ports as p
}

test_denies_personal_data_for_longer_than_its_limit if {
	a := object.union(f.agreement, {"days": 400, "end": "2027-02-05", "legal_basis": "contract"})
	p := [f.port_with([f.column("full_name", "personal", "plain")])]
	denials := policy.deny with input.agreement as a with input.ports as p
	count(denials) == 1
	some message in denials
	contains(message, "longer than the 365 days allowed for personal data")
}

test_an_omitted_column_does_not_count if {
	a := object.union(f.agreement, {"days": 1000})
	p := [f.port_with([f.column("employee_id", "internal", "plain"), f.column("birth_date", "sensitive", "omitted")])]
	count(policy.deny) == 0 with input.agreement as a with input.ports as p
}
