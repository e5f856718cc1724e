# Every product has an owner and a description, so a consumer knows what it is and whom to ask.
package meshlake.publication.ownership

import data.meshlake.lib
import rego.v1

deny contains msg if {
	count(input.product.owners) == 0
	msg := concat("", ["product ", input.product.ref, " has no owner: add a team member with role: owner"])
}

deny contains msg if {
	trim_space(object.get(input.product, "description", "")) == ""
	msg := concat("", ["product ", input.product.ref, " has no description: add description.purpose"])
}
