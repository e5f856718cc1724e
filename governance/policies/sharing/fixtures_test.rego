# Fixtures for the sharing tests: sales reads hr's employee register.
package meshlake.sharing.fixtures_test

import rego.v1

column(name, class, delivery) := {"name": name, "classification": class, "delivery": delivery}

port_with(columns) := {"ref": "hr.employees.employees", "domain": "hr", "zone": "emea", "region": "eu", "columns": columns}

ports := [port_with([
	column("employee_id", "internal", "plain"),
	column("full_name", "personal", "masked"),
	column("birth_date", "sensitive", "omitted"),
])]

agreement := {
	"name": "sales-reads-employees",
	"purpose": "sales_performance_reporting",
	"legal_basis": null,
	"start": "2026-01-01",
	"end": "2026-12-31",
	"days": 364,
	"consumer": {"kind": "product", "id": "sales.account_manager_performance", "domain": "sales", "zone": "emea", "region": "eu"},
}

elsewhere := object.union(agreement, {"consumer": object.union(agreement.consumer, {"zone": "americas", "region": "us"})})
