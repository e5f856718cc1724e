# An agreement runs at most as long as the most protected data it delivers allows
# (config.sharing.max_days per classification, a masked column counted as config.sharing.masked_as).
package meshlake.sharing.max_duration

import data.meshlake.lib
import data.meshlake.sharing.purpose
import rego.v1

limits := object.get(lib.config, ["sharing", "max_days"], {})

delivered_limits contains [limits[class], class] if {
	some port in input.ports
	some column in port.columns
	column.delivery != "omitted"
	class := purpose.delivered_class(column)
	limits[class]
}

deny contains msg if {
	some [limit, class] in delivered_limits
	input.agreement.days > limit
	msg := concat("", ["the agreement runs ", lib.text(input.agreement.days), " days (", input.agreement.start, " to ", input.agreement.end, "), longer than the ", lib.text(limit), " days allowed for ", class, " data; end it sooner and renew it"])
}
