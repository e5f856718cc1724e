# A source-aligned product (tier bronze, or tagged source-aligned) reads its own domain's raw
# sources and products only: it is the domain's system of record, not a blend of others. Fails
# closed: an input of a source-aligned product whose domain is unknown is denied.
package meshlake.publication.source_aligned_inputs

import data.meshlake.lib
import rego.v1

source_aligned if input.product.tier in {t | some t in lib.config.source_aligned_tiers}

source_aligned if "source-aligned" in input.product.tags

deny contains msg if {
	source_aligned
	some port in input.product.inputs
	lib.known(port.domain)
	port.domain != input.product.domain
	msg := concat("", ["source-aligned product ", input.product.ref, " reads ", port.contract_id, " of domain ", port.domain, "; source-aligned products read only their own domain"])
}

deny contains msg if {
	source_aligned
	some port in input.product.inputs
	not lib.known(port.domain)
	msg := concat("", ["source-aligned product ", input.product.ref, " reads ", lib.input_label(port), " whose domain is unknown; it cannot be shown to be its own domain's, so it is denied"])
}
