package meshlake.publication.column_documentation_test

import data.meshlake.publication.column_documentation as policy
import data.meshlake.publication.fixtures_test as f
import rego.v1

test_allows_documented_columns if {
	p := f.product
	count(policy.deny) == 0 with input.product as p
}

test_denies_a_column_without_description if {
	bare := object.union(f.column("region", "internal"), {"description": ""})
	p := f.with_port(f.port_with_columns([f.column("account_id", "internal"), bare]))
	denials := policy.deny with input.product as p
	denials == {"column sales.accounts.accounts.region has no description"}
}

test_denies_a_column_without_classification if {
	p := f.with_port(f.port_with_columns([f.column("account_id", "")]))
	denials := policy.deny with input.product as p
	count(denials) == 1
	some message in denials
	startswith(message, "column sales.accounts.accounts.account_id has no classification")
}
