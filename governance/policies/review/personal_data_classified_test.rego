package meshlake.review.personal_data_classified_test

import data.meshlake.review.personal_data_classified as policy
import rego.v1

suspect := {"column": "sales.leads.leads.contact", "kind": "email", "evidence": "examples", "classification": ""}

test_denies_an_unclassified_column_that_looks_personal if {
	suspects := [suspect]
	denials := policy.deny with input.suspected_personal as suspects
	denials == {"column sales.leads.leads.contact looks like personal data (email, from its examples) but has no classification"}
}

test_warns_when_it_is_classified_internal if {
	suspects := [object.union(suspect, {"classification": "internal"})]
	count(policy.deny) == 0 with input.suspected_personal as suspects
	count(policy.warn) == 1 with input.suspected_personal as suspects
}

test_allows_it_classified_personal if {
	suspects := [object.union(suspect, {"classification": "personal"})]
	count(policy.deny) == 0 with input.suspected_personal as suspects
	count(policy.warn) == 0 with input.suspected_personal as suspects
}
