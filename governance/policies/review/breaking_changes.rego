# A breaking change to a contract (column removed or renamed, type narrowed, nullability tightened,
# uniqueness dropped, classification changed, SLA loosened, product retired) needs a major version
# bump, so that consumers pinned to the old major version are not broken silently.
package meshlake.review.breaking_changes

import data.meshlake.lib
import rego.v1

deny contains msg if {
	some change in input.changes
	change.breaking
	not change.major_bump
	msg := concat("", [change.target, ": ", change.summary, " without a major version bump of contract ", change.contract_id, " (", change.version_before, " -> ", change.version_after, ")"])
}

warn contains msg if {
	some change in input.changes
	change.breaking
	change.major_bump
	count(change.consumers) > 0
	msg := concat("", [change.target, ": ", change.summary, " breaks ", lib.text(count(change.consumers)), " consumer(s) at the new major version; tell them before merging"])
}
