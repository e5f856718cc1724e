SELECT region, SUM(amount) AS total_amount, COUNT(*) AS record_count
FROM source
GROUP BY region
