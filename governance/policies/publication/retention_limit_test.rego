package meshlake.publication.retention_limit_test

import data.meshlake.publication.fixtures_test as f
import data.meshlake.publication.retention_limit as policy
import rego.v1

retention(days) := f.with_port(object.union(f.port, {"sla": {
	"latency": {"value": 1, "unit": "d", "days": 1},
	"retention": {"value": days, "unit": "d", "days": days},
}}))

test_allows_personal_data_kept_within_the_maximum if {
	p := retention(3650)
	count(policy.deny) == 0 with input.product as p
}

test_denies_personal_data_kept_beyond_the_maximum if {
	p := retention(3651)
	denials := policy.deny with input.product as p
	denials == {"output port sales.accounts.accounts keeps personal data (column contact_email) for 3651 days; the maximum is 3650 days"}
}

test_the_maximum_is_configured if {
	p := retention(400)
	count(policy.deny) == 1 with input.product as p with data.meshlake.config.max_retention_days as {"personal": 365}
}

test_internal_data_has_no_maximum if {
	p := object.union(retention(99999), {"ports": [object.union(retention(99999).ports[0], {"columns": [f.column("account_id", "internal")]})]})
	count(policy.deny) == 0 with input.product as p
}
