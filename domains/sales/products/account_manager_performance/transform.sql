-- Book of business per account manager: the customers each manager looks after (sales), who the
-- manager is (hr, shared across domains), and the revenue of those customers (sales orders).
-- Only non-sensitive employee columns are taken from hr.employees.
WITH bounds AS (
    SELECT max(order_date) AS snapshot_date FROM orders
),
customer_revenue AS (
    SELECT
        o.customer_id,
        count(*)                                                          AS order_count,
        sum(o.net_amount)                                                 AS revenue,
        sum(CASE WHEN o.order_date > date_sub(b.snapshot_date, 90)
                 THEN o.net_amount ELSE 0 END)                            AS revenue_90d,
        max(o.order_date)                                                 AS last_order_date
    FROM orders AS o
    CROSS JOIN bounds AS b
    WHERE o.is_revenue
    GROUP BY o.customer_id
)
SELECT
    e.employee_id,
    e.full_name,
    e.department,
    e.job_title,
    e.is_active,
    b.snapshot_date,
    count(c.customer_id)                                          AS customer_count,
    count_if(c.segment = 'Enterprise')                            AS enterprise_customer_count,
    count_if(r.last_order_date > date_sub(b.snapshot_date, 90))   AS active_customer_count,
    coalesce(sum(r.order_count), 0)                               AS order_count,
    coalesce(sum(r.revenue), 0)                                   AS revenue_total,
    coalesce(sum(r.revenue_90d), 0)                               AS revenue_last_90_days,
    round(coalesce(sum(r.revenue), 0) / count(c.customer_id), 2)  AS avg_revenue_per_customer
FROM customers AS c
JOIN employees AS e ON e.employee_id = c.account_manager_id
LEFT JOIN customer_revenue AS r ON r.customer_id = c.customer_id
CROSS JOIN bounds AS b
GROUP BY e.employee_id, e.full_name, e.department, e.job_title, e.is_active, b.snapshot_date
