package meshlake.review.breaking_changes_test

import data.meshlake.review.breaking_changes as policy
import rego.v1

removed := {
	"target": "hr.employees.employees.full_name",
	"kind": "column_removed",
	"summary": "column full_name removed",
	"breaking": true,
	"major_bump": false,
	"contract_id": "hr.employees.employees",
	"version_before": "1.0.0",
	"version_after": "1.1.0",
	"consumers": [{"product": "sales.account_manager_performance", "columns": ["full_name"]}],
}

test_denies_a_breaking_change_without_major_bump if {
	changes := [removed]
	denials := policy.deny with input.changes as changes
	denials == {"hr.employees.employees.full_name: column full_name removed without a major version bump of contract hr.employees.employees (1.0.0 -> 1.1.0)"}
}

test_a_major_bump_allows_it_and_warns_about_consumers if {
	changes := [object.union(removed, {"major_bump": true, "version_after": "2.0.0"})]
	count(policy.deny) == 0 with input.changes as changes
	warnings := policy.warn with input.changes as changes
	count(warnings) == 1
}

test_allows_a_non_breaking_change if {
	changes := [object.union(removed, {"breaking": false, "kind": "column_added"})]
	count(policy.deny) == 0 with input.changes as changes
}
