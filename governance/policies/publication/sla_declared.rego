# Every output port states its latency and its retention as durations, so consumers know how fresh
# the data is and how long it is kept.
package meshlake.publication.sla_declared

import data.meshlake.lib
import rego.v1

required := ["latency", "retention"]

deny contains msg if {
	some port in input.product.ports
	some name in required
	not port.sla[name].days
	msg := concat("", ["output port ", lib.port_ref(input.product, port), " states no ", name, ": add slaProperties ", name, " with value and unit"])
}
