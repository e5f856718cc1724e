# A column whose name or sample values look like personal data (e-mail, phone, national id, birth
# date) is classified, so that masking, retention and access rules apply to it.
package meshlake.review.personal_data_classified

import data.meshlake.lib
import rego.v1

deny contains msg if {
	some suspect in input.suspected_personal
	trim_space(object.get(suspect, "classification", "")) == ""
	msg := concat("", ["column ", suspect.column, " looks like personal data (", suspect.kind, ", from its ", suspect.evidence, ") but has no classification"])
}

warn contains msg if {
	some suspect in input.suspected_personal
	lower(object.get(suspect, "classification", "")) in {"public", "internal"}
	msg := concat("", ["column ", suspect.column, " looks like personal data (", suspect.kind, ", from its ", suspect.evidence, ") but is classified ", suspect.classification])
}
