package meshlake.publication.personal_data_masking_test

import data.meshlake.publication.fixtures_test as f
import data.meshlake.publication.personal_data_masking as policy
import rego.v1

gold_with(columns) := object.union(f.with_port(f.port_with_columns(columns)), {"tier": "gold"})

test_allows_personal_data_in_a_silver_product if {
	p := f.product
	count(policy.deny) == 0 with input.product as p
}

test_denies_unmasked_personal_data_in_a_gold_product if {
	p := gold_with([f.column("contact_email", "personal")])
	denials := policy.deny with input.product as p
	count(denials) == 1
	some message in denials
	contains(message, "sales.accounts.accounts.contact_email is personal data in a gold product")
}

test_allows_pseudonymised_personal_data_in_a_gold_product if {
	masked := object.union(f.column("contact_email", "sensitive"), {"masking": "pseudonymised"})
	p := gold_with([masked])
	count(policy.deny) == 0 with input.product as p
}

test_an_exception_turns_the_denial_into_a_warning if {
	p := gold_with([f.column("contact_email", "personal")])
	exceptions := [{"policy": "personal_data_masking", "target": "sales.accounts.accounts.contact_email"}]
	denials := policy.deny with input.product as p with data.meshlake.config.exceptions as exceptions
	warnings := policy.warn with input.product as p with data.meshlake.config.exceptions as exceptions
	count(denials) == 0
	count(warnings) == 1
}
