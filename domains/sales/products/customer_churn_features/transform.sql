-- Churn training set: RFM and tenure features of each buying customer as of an observation date,
-- and whether the customer bought again in the 90 days after it (the label). Features only see
-- orders up to the observation date, so they do not leak the label.
-- snapshot_date = the latest order day; observation_date = 90 days before it.
WITH bounds AS (
    SELECT max(order_date) AS snapshot_date, date_sub(max(order_date), 90) AS observation_date
    FROM orders
),
history AS (
    SELECT
        o.customer_id,
        min(o.order_date)                                                     AS first_order_date,
        max(o.order_date)                                                     AS last_order_date,
        count(*)                                                              AS frequency,
        count_if(o.order_date > date_sub(b.observation_date, 90))             AS frequency_90d,
        sum(o.net_amount)                                                     AS monetary_value,
        sum(CASE WHEN o.order_date > date_sub(b.observation_date, 90)
                 THEN o.net_amount ELSE 0 END)                                AS monetary_value_90d,
        count(DISTINCT o.channel)                                             AS channel_count
    FROM orders AS o
    CROSS JOIN bounds AS b
    WHERE o.is_revenue AND o.order_date <= b.observation_date
    GROUP BY o.customer_id
),
refunds AS (
    SELECT o.customer_id, count_if(NOT o.is_revenue) / count(*) AS cancel_return_rate
    FROM orders AS o
    CROSS JOIN bounds AS b
    WHERE o.order_date <= b.observation_date
    GROUP BY o.customer_id
),
outcome AS (
    SELECT o.customer_id, count(*) AS orders_after
    FROM orders AS o
    CROSS JOIN bounds AS b
    WHERE o.is_revenue AND o.order_date > b.observation_date
    GROUP BY o.customer_id
)
SELECT
    c.customer_id,
    c.country,
    c.segment,
    c.account_manager_id IS NOT NULL                                   AS has_account_manager,
    b.observation_date,
    b.snapshot_date                                                    AS label_end_date,
    datediff(b.observation_date, c.signup_date)                        AS tenure_days,
    h.first_order_date,
    h.last_order_date,
    datediff(b.observation_date, h.last_order_date)                    AS recency_days,
    h.frequency,
    h.frequency_90d,
    h.monetary_value,
    h.monetary_value_90d,
    round(h.monetary_value / h.frequency, 2)                           AS avg_order_value,
    round(coalesce(r.cancel_return_rate, 0), 4)                        AS cancel_return_rate,
    h.channel_count,
    coalesce(x.orders_after, 0) = 0                                    AS churned
FROM customers AS c
CROSS JOIN bounds AS b
JOIN history AS h ON h.customer_id = c.customer_id
LEFT JOIN refunds AS r ON r.customer_id = c.customer_id
LEFT JOIN outcome AS x ON x.customer_id = c.customer_id
WHERE c.signup_date <= b.observation_date
