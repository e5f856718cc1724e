# A source-aligned product (tier bronze, or tagged source-aligned) reads its own domain's raw
# sources and products only: it is the domain's system of record, not a blend of others.
package meshlake.publication.source_aligned_inputs

import data.meshlake.lib
import rego.v1

source_aligned if input.product.tier in {t | some t in lib.config.source_aligned_tiers}

source_aligned if "source-aligned" in input.product.tags

deny contains msg if {
	source_aligned
	some port in input.product.inputs
	port.domain != input.product.domain
	msg := concat("", ["source-aligned product ", input.product.ref, " reads ", port.contract_id, " of domain ", port.domain, "; source-aligned products read only their own domain"])
}
