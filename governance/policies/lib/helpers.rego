# Helpers shared by every decision's policies. Configuration comes from data/config.json, which
# the platform team edits; it is loaded at data.meshlake.config.
package meshlake.lib

import rego.v1

config := data.meshlake.config

# A column reference "domain.product.port.column".
column_ref(product, port, column) := concat(".", [product.ref, port.name, column.name])

port_ref(product, port) := concat(".", [product.ref, port.name])

# Sets built once per query rather than once per column.
personal_classes := {lower(c) | some c in config.personal_classifications}

masking_methods := {m | some m in config.masking_methods}

is_personal(column) if lower(column.classification) in personal_classes

# An exception the platform team granted for one policy and one target (a product, port or column).
excepted(policy, target) if {
	some item in config.exceptions
	item.policy == policy
	item.target == target
}

valid_name(name) if regex.match(config.name_pattern, name)

# A value a policy can judge: a non-empty string. Absent, null and "" are unknown, and the rules
# that need them deny rather than pass (fail closed).
known(value) if {
	is_string(value)
	value != ""
}

# An input for messages: its contract id, else its name, else "an input".
input_label(port) := port.contract_id if known(port.contract_id)

input_label(port) := concat("", ["input ", port.name]) if {
	not known(port.contract_id)
	known(port.name)
}

input_label(port) := "an input" if {
	not known(port.contract_id)
	not known(port.name)
}

# A number (or anything) as text for messages. regopy's sprintf quotes some strings and has no %q,
# so messages are built with concat.
text(value) := value if is_string(value)

text(value) := format_int(value, 10) if {
	is_number(value)
	value == floor(value)
}

text(value) := json.marshal(value) if {
	not is_string(value)
	not is_number(value)
}

text(value) := json.marshal(value) if {
	is_number(value)
	value != floor(value)
}
