package meshlake.publication.naming_test

import data.meshlake.publication.fixtures_test as f
import data.meshlake.publication.naming as policy
import rego.v1

test_allows_conventional_names if {
	p := f.product
	count(policy.deny) == 0 with input.product as p
}

test_denies_a_camel_case_column if {
	p := f.with_port(f.port_with_columns([f.column("accountId", "internal")]))
	denials := policy.deny with input.product as p
	denials == {"column name \"accountId\" of sales.accounts.accounts is not lower_snake_case"}
}

test_denies_a_contract_id_that_does_not_follow_the_port if {
	p := f.with_port(object.union(f.port, {"contract_id": "accounts-v1"}))
	denials := policy.deny with input.product as p
	denials == {"contract id \"accounts-v1\" of output port sales.accounts.accounts must be \"sales.accounts.accounts\""}
}

test_denies_a_product_id_outside_its_domain if {
	p := object.union(f.product, {"ref": "marketing.accounts"})
	denials := policy.deny with input.product as p
	some message in denials
	startswith(message, "product id \"marketing.accounts\" must be sales.accounts")
}
