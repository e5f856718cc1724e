-- Typed, cleaned pump readings: one row per pump and five-minute interval, enriched with the unit's
-- well, field and structure rating from the asset register.
WITH readings AS (
    SELECT
        upper(trim(pump_id))                                  AS pump_id,
        upper(trim(well_id))                                  AS well_id,
        -- New RTUs send 2025-12-29T00:05:00, old ones 2025-12-29 00:05:00 (both local plant time).
        to_timestamp(replace(trim(reading_ts), 'T', ' '))     AS reading_ts,
        sequence_no,
        stroke_length_in,
        peak_rod_load_lbf,
        min_rod_load_lbf,
        strokes_per_minute,
        motor_current_a,
        -- -9999 is the gateway's sentinel for a failed probe; anything outside the probe's range
        -- is a fault too.
        CASE WHEN motor_temp_c BETWEEN -40 AND 200 THEN motor_temp_c END AS motor_temp_c,
        CASE WHEN vibration_mm_s >= 0 THEN vibration_mm_s END AS vibration_mm_s,
        pump_fillage_pct
    FROM pump_readings
    WHERE pump_id IS NOT NULL AND reading_ts IS NOT NULL
),
deduplicated AS (
    -- The gateway retransmits readings it got no acknowledgement for: keep one per interval.
    SELECT *, row_number() OVER (PARTITION BY pump_id, reading_ts ORDER BY sequence_no) AS copy
    FROM readings
),
units AS (
    SELECT
        upper(trim(pump_id))                                            AS pump_id,
        field_name,
        CAST(nullif(replace(structure_rating_lbf, ',', ''), '') AS DOUBLE) AS structure_rating_lbf
    FROM pump_registry
)
SELECT
    r.pump_id,
    r.well_id,
    u.field_name,
    r.reading_ts,
    to_date(r.reading_ts)                   AS reading_date,
    r.sequence_no,
    r.strokes_per_minute > 0                AS is_running,
    r.stroke_length_in,
    r.peak_rod_load_lbf,
    r.min_rod_load_lbf,
    r.strokes_per_minute,
    r.motor_current_a,
    r.motor_temp_c,
    r.vibration_mm_s,
    r.pump_fillage_pct,
    u.structure_rating_lbf
FROM deduplicated AS r
LEFT JOIN units AS u ON u.pump_id = r.pump_id
WHERE r.copy = 1
