# Data stays in its region: a product reads a port from a landing zone in another region only where
# config.cross_region_allowances lists that dataset for that pair of zones. Fails closed: an input
# (or the product) whose zone or region is unknown cannot be judged, and is denied.
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
	lib.known(port.region)
	lib.known(input.product.region)
	port.region != input.product.region
	not allowed(port)
	msg := concat("", [input.product.ref, " (zone ", input.product.zone, ", region ", input.product.region, ") reads ", port.contract_id, " from zone ", port.zone, " in region ", port.region, " without a cross-region allowance"])
}

deny contains msg if {
	some port in input.product.inputs
	not lib.known(port.region)
	msg := concat("", [input.product.ref, " reads ", lib.input_label(port), " whose region is unknown; residency cannot be judged, so it is denied"])
}

deny contains msg if {
	some port in input.product.inputs
	lib.known(port.region)
	not lib.known(port.zone)
	msg := concat("", [input.product.ref, " reads ", lib.input_label(port), " whose landing zone is unknown; no cross-region allowance can cover it, so it is denied"])
}

deny contains msg if {
	not lib.known(input.product.region)
	msg := concat("", [lib.text(object.get(input.product, "ref", "the product")), " has no known region; residency cannot be judged, so it is denied"])
}
