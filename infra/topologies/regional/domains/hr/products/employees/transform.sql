SELECT id, region, CAST(amount AS DOUBLE) AS amount FROM employees_raw
