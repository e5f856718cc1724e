# Purpose against classification: each purpose the platform team lists (config.sharing.purposes)
# may receive columns of some classifications only. A masked column counts as the classification
# its mask turns it into (config.sharing.masked_as). An unknown purpose is denied (fail closed).
package meshlake.sharing.purpose

import data.meshlake.lib
import rego.v1

purposes := object.get(lib.config, ["sharing", "purposes"], {})

delivered_class(column) := object.get(lib.config, ["sharing", "masked_as"], "internal") if {
	column.delivery == "masked"
}

delivered_class(column) := lower(lib.text(object.get(column, "classification", "unclassified"))) if {
	column.delivery == "plain"
	lib.known(column.classification)
}

delivered_class(column) := "unclassified" if {
	column.delivery == "plain"
	not lib.known(column.classification)
}

deny contains msg if {
	not purposes[input.agreement.purpose]
	msg := concat("", ["purpose ", input.agreement.purpose, " is not one the sharing policies know (", concat(", ", sort(object.keys(purposes))), "); ask the platform team to add it to config.sharing.purposes"])
}

deny contains msg if {
	allowed := purposes[input.agreement.purpose]
	some port in input.ports
	some column in port.columns
	column.delivery != "omitted"
	class := delivered_class(column)
	not class in allowed
	msg := concat("", [port.ref, ".", column.name, " is ", class, " data as delivered ", column.delivery, ", which purpose ", input.agreement.purpose, " may not receive (it allows ", concat(", ", allowed), "): mask it or leave it out"])
}
