-- Engagement and retention per department, aggregated so that no row describes a person.
-- The snapshot date is the latest hire or termination in the register (the extract's as-of date),
-- so the product is reproducible from the same input version.
WITH snapshot AS (
    SELECT max(greatest(hire_date, coalesce(termination_date, hire_date))) AS snapshot_date
    FROM employees
),
staff AS (
    SELECT
        e.department,
        e.is_active,
        e.engagement_score,
        s.snapshot_date,
        e.termination_date IS NOT NULL
            AND e.termination_date > date_sub(s.snapshot_date, 365)      AS left_last_12_months,
        e.hire_date <= date_sub(s.snapshot_date, 365)
            AND (e.termination_date IS NULL
                 OR e.termination_date > date_sub(s.snapshot_date, 365)) AS employed_12_months_ago,
        datediff(coalesce(e.termination_date, s.snapshot_date), e.hire_date) / 365.25
            AS tenure_years
    FROM employees AS e
    CROSS JOIN snapshot AS s
)
SELECT
    department,
    max(snapshot_date)                                              AS snapshot_date,
    count(*)                                                        AS headcount,
    count_if(is_active)                                             AS active_headcount,
    count_if(NOT is_active)                                         AS leavers_total,
    count_if(left_last_12_months)                                   AS leavers_last_12_months,
    -- Separations over the average of the headcount a year ago and today.
    CASE
        WHEN count_if(employed_12_months_ago) + count_if(is_active) = 0 THEN 0.0
        ELSE round(
            count_if(left_last_12_months)
                / ((count_if(employed_12_months_ago) + count_if(is_active)) / 2.0), 4)
    END                                                             AS attrition_rate_12_months,
    count(CASE WHEN is_active THEN engagement_score END)             AS engagement_responses,
    -- Small-cell suppression: no average over fewer than five answers.
    CASE
        WHEN count(CASE WHEN is_active THEN engagement_score END) >= 5
            THEN round(avg(CASE WHEN is_active THEN engagement_score END), 2)
    END                                                             AS avg_engagement_score,
    round(avg(CASE WHEN is_active THEN tenure_years END), 2)        AS avg_tenure_years,
    round(avg(CASE WHEN NOT is_active THEN tenure_years END), 2)    AS avg_tenure_years_leavers
FROM staff
GROUP BY department
-- Departments of fewer than five people would describe individuals; leave them out.
HAVING count(*) >= 5
