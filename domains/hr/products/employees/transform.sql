-- Conform the HR system extract: typed columns, one row per employee, derived activity flag.
SELECT
    employee_id,
    concat_ws(' ', first_name, last_name)          AS full_name,
    lower(email)                                   AS email,
    to_date(birth_date)                            AS birth_date,
    to_date(hire_date)                             AS hire_date,
    to_date(nullif(termination_date, ''))          AS termination_date,
    termination_date IS NULL OR termination_date = '' AS is_active,
    department,
    job_title,
    nullif(manager_id, '')                         AS manager_id,
    upper(trim(country))                           AS country,
    CAST(nullif(annual_salary, '') AS DECIMAL(12, 2)) AS annual_salary,
    CAST(nullif(engagement_score, '') AS DOUBLE)   AS engagement_score
FROM hris_employees
