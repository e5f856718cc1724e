SELECT id, region, CAST(amount AS DOUBLE) AS amount FROM rates_raw
