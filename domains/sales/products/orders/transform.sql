-- Conformed orders: replayed rows removed, spellings normalised, amounts as money, and each order
-- joined to its customer (orders of customers missing from the register are held back).
WITH typed AS (
    SELECT
        trim(order_id)                                             AS order_id,
        upper(trim(customer_id))                                   AS customer_id,
        to_timestamp(trim(order_ts))                               AS order_ts,
        lower(trim(status))                                        AS status,
        lower(trim(channel))                                       AS channel,
        CAST(item_count AS INT)                                    AS item_count,
        CAST(round(gross_amount, 2) AS DECIMAL(12, 2))             AS gross_amount,
        CAST(round(coalesce(discount_amount, 0), 2) AS DECIMAL(12, 2)) AS discount_amount
    FROM shop_orders
    WHERE order_id IS NOT NULL
),
deduplicated AS (
    -- The export replays orders after a retry; keep one row per order.
    SELECT *, row_number() OVER (PARTITION BY order_id ORDER BY order_ts DESC) AS copy
    FROM typed
)
SELECT
    o.order_id,
    o.customer_id,
    o.order_ts,
    to_date(o.order_ts)                                            AS order_date,
    o.status,
    o.channel,
    o.item_count,
    o.gross_amount,
    o.discount_amount,
    o.gross_amount - o.discount_amount                             AS net_amount,
    o.status NOT IN ('cancelled', 'returned')                      AS is_revenue,
    c.country                                                      AS customer_country,
    c.segment                                                      AS customer_segment
FROM deduplicated AS o
JOIN customers AS c ON c.customer_id = o.customer_id
WHERE o.copy = 1
