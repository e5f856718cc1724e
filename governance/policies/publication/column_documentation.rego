# Every column has a description and a classification: search, access decisions and masking
# depend on them.
package meshlake.publication.column_documentation

import data.meshlake.lib
import rego.v1

deny contains msg if {
	some port in input.product.ports
	some column in port.columns
	trim_space(object.get(column, "description", "")) == ""
	msg := concat("", ["column ", lib.column_ref(input.product, port, column), " has no description"])
}

deny contains msg if {
	some port in input.product.ports
	some column in port.columns
	trim_space(object.get(column, "classification", "")) == ""
	msg := concat("", ["column ", lib.column_ref(input.product, port, column), " has no classification (public, internal, confidential, personal, sensitive, restricted)"])
}
