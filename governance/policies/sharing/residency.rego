# Sharing across regions needs an allowance (config.cross_region_allowances) for the dataset from
# the port's zone to the consumer's zone; an external recipient (no zone) needs one to "external".
# Fails closed: a port whose region is unknown is denied.
package meshlake.sharing.residency

import data.meshlake.lib
import rego.v1

consumer := input.agreement.consumer

target_zone := consumer.zone if lib.known(object.get(consumer, "zone", null))

target_zone := "external" if not lib.known(object.get(consumer, "zone", null))

allowed(port) if {
	some allowance in lib.config.cross_region_allowances
	allowance.from_zone == port.zone
	allowance.to_zone == target_zone
	port.ref in allowance.datasets
}

crosses(port) if {
	lib.known(object.get(consumer, "region", null))
	port.region != consumer.region
}

crosses(_) if target_zone == "external"

deny contains msg if {
	some port in input.ports
	lib.known(port.region)
	crosses(port)
	not allowed(port)
	msg := concat("", [port.ref, " (zone ", lib.text(port.zone), ", region ", port.region, ") would go to ", consumer.kind, " ", consumer.id, " in ", target_zone, " without a cross-region allowance for it"])
}

deny contains msg if {
	some port in input.ports
	not lib.known(port.region)
	msg := concat("", [port.ref, " has no known region; residency cannot be judged, so sharing it is denied"])
}
