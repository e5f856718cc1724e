package meshlake.publication.ownership_test

import data.meshlake.publication.fixtures_test as f
import data.meshlake.publication.ownership
import rego.v1

test_allows_a_product_with_owner_and_description if {
	p := f.product
	count(ownership.deny) == 0 with input.product as p
}

test_denies_a_product_without_owner if {
	p := object.union(f.product, {"owners": []})
	denials := ownership.deny with input.product as p
	denials == {"product sales.accounts has no owner: add a team member with role: owner"}
}

test_denies_a_product_without_description if {
	p := object.union(f.product, {"description": "  "})
	denials := ownership.deny with input.product as p
	denials == {"product sales.accounts has no description: add description.purpose"}
}
