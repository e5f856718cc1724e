# Personal data leaves its domain only masked, or plain with a legal basis the privacy office
# accepts (config.sharing.legal_bases). Sensitive and restricted data never leave plain.
package meshlake.sharing.personal_data

import data.meshlake.lib
import rego.v1

legal_bases := {b | some b in object.get(lib.config, ["sharing", "legal_bases"], [])}

never_plain := {"sensitive", "restricted"}

plain_personal contains [port.ref, column.name, lower(column.classification)] if {
	some port in input.ports
	some column in port.columns
	column.delivery == "plain"
	lib.is_personal(column)
}

deny contains msg if {
	some [ref, name, class] in plain_personal
	class in never_plain
	msg := concat("", [ref, ".", name, " is ", class, " data: it is shared only masked or left out"])
}

deny contains msg if {
	some [ref, name, class] in plain_personal
	not class in never_plain
	not input.agreement.legal_basis in legal_bases
	msg := concat("", [ref, ".", name, " is ", class, " data delivered plain without an accepted legal basis (", lib.text(object.get(input.agreement, "legal_basis", null)), "; accepted: ", concat(", ", sort([b | some b in legal_bases])), "): mask it, leave it out or state the legal basis"])
}
