-- The asset register as a dimension: one row per pumping unit with its well, field and ratings.
SELECT
    upper(trim(pump_id))                                                AS pump_id,
    upper(trim(well_id))                                                AS well_id,
    trim(field_name)                                                    AS field_name,
    upper(trim(country))                                                AS country,
    trim(manufacturer)                                                  AS manufacturer,
    upper(trim(unit_designation))                                       AS unit_designation,
    -- Some ratings carry thousands separators (30,500).
    CAST(nullif(replace(trim(structure_rating_lbf), ',', ''), '') AS DOUBLE)
                                                                        AS structure_rating_lbf,
    CAST(nullif(trim(max_stroke_in), '') AS DOUBLE)                     AS max_stroke_in,
    to_date(nullif(trim(install_date), ''))                             AS install_date,
    lower(trim(status))                                                 AS status
FROM pump_registry
