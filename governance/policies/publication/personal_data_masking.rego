# Personal data in consumer-aligned (gold) products is masked or pseudonymised, as the contract
# declares with the column's customProperties `masking` (one of config.masking_methods).
package meshlake.publication.personal_data_masking

import data.meshlake.lib
import rego.v1

deny contains msg if {
	input.product.tier == "gold"
	some port in input.product.ports
	some column in port.columns
	lib.is_personal(column)
	not object.get(column, "masking", "") in lib.masking_methods
	ref := lib.column_ref(input.product, port, column)
	not lib.excepted("personal_data_masking", ref)
	msg := concat("", ["column ", ref, " is ", column.classification, " data in a gold product but declares no masking: add customProperties masking: one of ", concat(", ", lib.config.masking_methods)])
}

warn contains msg if {
	input.product.tier == "gold"
	some port in input.product.ports
	some column in port.columns
	lib.is_personal(column)
	ref := lib.column_ref(input.product, port, column)
	lib.excepted("personal_data_masking", ref)
	msg := concat("", ["column ", ref, " is ", column.classification, " data published unmasked under an exception"])
}
