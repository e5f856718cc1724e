# A product every publication policy allows; each policy's tests break one thing in it.
package meshlake.publication.fixtures_test

import rego.v1

column(name, classification) := {
	"name": name,
	"type": "string",
	"description": concat("", ["The ", name, "."]),
	"classification": classification,
	"required": true,
	"unique": false,
	"masking": "",
}

port := {
	"name": "accounts",
	"contract_id": "sales.accounts.accounts",
	"contract_version": "1.0.0",
	"description": "One row per account.",
	"sla": {
		"latency": {"value": 1, "unit": "d", "days": 1},
		"retention": {"value": 5, "unit": "y", "days": 1825},
	},
	"columns": [column("account_id", "internal"), column("contact_email", "personal")],
}

product := {
	"ref": "sales.accounts",
	"domain": "sales",
	"name": "accounts",
	"status": "active",
	"tier": "silver",
	"tags": ["sales"],
	"description": "Accounts and their contacts.",
	"owners": ["owner@example.com"],
	"zone": "americas",
	"region": "eastus",
	"inputs": [{
		"name": "customers",
		"contract_id": "sales.customers.customers",
		"kind": "product",
		"domain": "sales",
		"zone": "americas",
		"region": "eastus",
	}],
	"ports": [port],
}

# The fixture with its only port replaced.
with_port(p) := object.union(product, {"ports": [p]})

# The fixture's port with its columns replaced.
port_with_columns(columns) := object.union(port, {"columns": columns})
