# Data stays in its region: a product reads a port from a landing zone in another region only where
# config.cross_region_allowances lists that dataset for that pair of zones.
package meshlake.publication.residency

import data.meshlake.lib
import rego.v1

allowed(port) if {
	some allowance in lib.config.cross_region_allowances
	allowance.from_zone == port.zone
	allowance.to_zone == input.product.zone
	port.contract_id in allowance.datasets
}

deny contains msg if {
	some port in input.product.inputs
	port.region != input.product.region
	not allowed(port)
	msg := concat("", [input.product.ref, " (zone ", input.product.zone, ", region ", input.product.region, ") reads ", port.contract_id, " from zone ", port.zone, " in region ", port.region, " without a cross-region allowance"])
}
