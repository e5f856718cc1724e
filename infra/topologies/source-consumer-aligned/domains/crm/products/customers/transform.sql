SELECT id, region, CAST(amount AS DOUBLE) AS amount FROM customers_raw
