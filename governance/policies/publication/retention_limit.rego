# Classified data is kept no longer than the organisation's maximum for its classification
# (config.max_retention_days).
package meshlake.publication.retention_limit

import data.meshlake.lib
import rego.v1

deny contains msg if {
	some port in input.product.ports
	some column in port.columns
	limit := lib.config.max_retention_days[lower(column.classification)]
	port.sla.retention.days > limit
	msg := concat("", ["output port ", lib.port_ref(input.product, port), " keeps ", column.classification, " data (column ", column.name, ") for ", lib.text(port.sla.retention.days), " days; the maximum is ", lib.text(limit), " days"])
}
