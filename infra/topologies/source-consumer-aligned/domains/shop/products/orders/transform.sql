SELECT id, region, CAST(amount AS DOUBLE) AS amount FROM orders_raw
