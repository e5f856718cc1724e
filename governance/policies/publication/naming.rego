# Names follow the conventions: lower_snake_case names, product id `domain.product`, contract id
# `domain.product.port`.
package meshlake.publication.naming

import data.meshlake.lib
import rego.v1

deny contains msg if {
	some kind, name in {"domain": input.product.domain, "product": input.product.name}
	not lib.valid_name(name)
	msg := concat("", [kind, " name ", "\"", name, "\"", " is not lower_snake_case"])
}

deny contains msg if {
	input.product.ref != concat("", [input.product.domain, ".", input.product.name])
	msg := concat("", ["product id ", "\"", input.product.ref, "\"", " must be ", input.product.domain, ".", input.product.name])
}

deny contains msg if {
	some port in input.product.ports
	not lib.valid_name(port.name)
	msg := concat("", ["output port name ", "\"", port.name, "\"", " of ", input.product.ref, " is not lower_snake_case"])
}

deny contains msg if {
	some port in input.product.ports
	expected := lib.port_ref(input.product, port)
	port.contract_id != expected
	msg := concat("", ["contract id ", "\"", port.contract_id, "\"", " of output port ", expected, " must be ", "\"", expected, "\""])
}

deny contains msg if {
	some port in input.product.ports
	some column in port.columns
	not lib.valid_name(column.name)
	msg := concat("", ["column name ", "\"", column.name, "\"", " of ", lib.port_ref(input.product, port), " is not lower_snake_case"])
}
