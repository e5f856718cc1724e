package meshlake.sharing.personal_data_test

import data.meshlake.sharing.fixtures_test as f
import data.meshlake.sharing.personal_data as policy
import rego.v1

test_allows_masked_and_omitted_personal_data if {
	a := f.agreement
	p := f.ports
	count(policy.deny) == 0 with input.agreement as a with input.ports as p
}

test_denies_plain_personal_data_without_a_legal_basis if {
	a := f.agreement
	p := [f.port_with([f.column("full_name", "personal", "plain")])]
	denials := policy.deny with input.agreement as a with input.ports as p
	count(denials) == 1
	some message in denials
	contains(message, "without an accepted legal basis")
}

test_allows_plain_personal_data_with_a_legal_basis if {
	a := object.union(f.agreement, {"legal_basis": "contract"})
	p := [f.port_with([f.column("full_name", "personal", "plain")])]
	count(policy.deny) == 0 with input.agreement as a with input.ports as p
}

test_denies_plain_sensitive_data_even_with_a_legal_basis if {
	a := object.union(f.agreement, {"legal_basis": "contract"})
	p := [f.port_with([f.column("birth_date", "sensitive", "plain")])]
	denials := policy.deny with input.agreement as a with input.ports as p
	some message in denials
	contains(message, "birth_date is sensitive data: it is shared only masked or left out")
}
