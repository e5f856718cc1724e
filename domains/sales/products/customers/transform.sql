-- Conform the CRM export: one row per customer, contact details normalised, segment spellings
-- mapped to the four segments, dates typed.
SELECT
    upper(trim(customer_id))                                 AS customer_id,
    concat_ws(' ', trim(first_name), trim(last_name))        AS full_name,
    lower(trim(email))                                       AS email,
    -- E.164: keep the digits; national numbers get the country's dialling code.
    CASE
        WHEN nullif(trim(phone), '') IS NULL THEN NULL
        WHEN startswith(trim(phone), '+') THEN concat('+', regexp_replace(phone, '[^0-9]', ''))
        ELSE concat(
            CASE upper(trim(country))
                WHEN 'US' THEN '+1' WHEN 'CA' THEN '+1' WHEN 'MX' THEN '+52'
                WHEN 'BR' THEN '+55' WHEN 'AR' THEN '+54' WHEN 'CL' THEN '+56'
                WHEN 'CO' THEN '+57'
            END,
            regexp_replace(phone, '[^0-9]', ''))
    END                                                      AS phone,
    upper(trim(country))                                     AS country,
    trim(city)                                               AS city,
    CASE regexp_replace(lower(trim(segment)), '[^a-z0-9]', '')
        WHEN 'enterprise' THEN 'Enterprise'
        WHEN 'midmarket' THEN 'Mid-Market'
        WHEN 'smb' THEN 'SMB'
        WHEN 'smallbusiness' THEN 'SMB'
        WHEN 'consumer' THEN 'Consumer'
        WHEN 'b2c' THEN 'Consumer'
        ELSE 'Unclassified'
    END                                                      AS segment,
    coalesce(
        try_to_date(trim(signup_date), 'yyyy-MM-dd'),
        try_to_date(trim(signup_date), 'yyyy/MM/dd'))        AS signup_date,
    nullif(upper(trim(account_manager_id)), '')              AS account_manager_id
FROM crm_customers
