# Reading personal, sensitive or restricted data of another domain needs an active sharing
# agreement naming the dataset for one of the reader's domains; admins and the owning domain's
# members read their own data.
package meshlake.access.classified_data

import data.meshlake.lib
import rego.v1

reader_domains contains role.domain if {
	some role in input.principal.roles
	role.domain
}

privileged if {
	some role in input.principal.roles
	role.role == "admin"
}

privileged if input.dataset.domain in reader_domains

covered if {
	some agreement in input.agreements
	agreement.dataset == input.dataset.ref
	agreement.consumer_domain in reader_domains
	agreement.valid_until >= input.today
}

deny contains msg if {
	lib.is_personal(input.dataset)
	not privileged
	not covered
	msg := concat("", [input.principal.name, " may not ", input.action, " ", input.dataset.ref, " (", input.dataset.classification, " data of domain ", input.dataset.domain, "): no active sharing agreement covers it for ", concat(", ", sort([d | some d in reader_domains])),
		],
	)
}
