"""Daily condition features per pumpjack, for predictive maintenance.

One row per pump and day from the cleaned five-minute readings: coverage, load, temperature and
vibration statistics (load and motor statistics over the readings while the unit was stroking),
the temperature trend against the previous day, a count of anomalous readings, and a rule-based
failure-risk score with the reasons behind it. The rules are the reliability engineers' current
alarm limits; a trained model can replace the score later without changing the features.
"""

from __future__ import annotations

from typing import Any

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

READINGS_PER_DAY = 288  # the SCADA feed reports every five minutes

# Alarm limits agreed with the reliability engineers.
OVERHEAT_C = 90.0  # motor winding temperature
VIBRATION_MM_S = 7.1  # ISO 10816-3 boundary of zone C/D for medium machines, rigid foundation
OVERLOAD_UTILISATION = 0.9  # peak polished-rod load over the unit's structure rating
FLUID_POUND_FILLAGE_PCT = 70.0
TEMP_RISE_C = 4.0  # day-over-day rise of the mean motor temperature
RISK_FLAG_SCORE = 0.5

# reason -> weight in the score (the score is capped at 1)
WEIGHTS = {
    "motor_overheat": 0.35,
    "high_vibration": 0.30,
    "rod_overload": 0.25,
    "fluid_pound": 0.15,
    "temp_rising": 0.15,
}


def transform(inputs: dict[str, DataFrame], ctx: Any) -> DataFrame:
    readings = inputs["pump_telemetry"]

    def running(column: str) -> Column:
        return F.when(F.col("is_running"), F.col(column))

    anomalous = (
        (F.col("motor_temp_c") > OVERHEAT_C)
        | (F.col("vibration_mm_s") > VIBRATION_MM_S)
        | (F.col("peak_rod_load_lbf") > OVERLOAD_UTILISATION * F.col("structure_rating_lbf"))
    )
    daily = readings.groupBy("pump_id", "reading_date").agg(
        F.first("well_id", ignorenulls=True).alias("well_id"),
        F.first("field_name", ignorenulls=True).alias("field_name"),
        F.count(F.lit(1)).alias("reading_count"),
        F.avg(F.col("is_running").cast("double")).alias("running_share"),
        F.count_if(F.col("motor_temp_c").isNull() | F.col("vibration_mm_s").isNull()).alias(
            "sensor_fault_count"
        ),
        F.avg(running("strokes_per_minute")).alias("spm_mean"),
        F.avg(running("peak_rod_load_lbf")).alias("load_mean_lbf"),
        F.max(running("peak_rod_load_lbf")).alias("load_max_lbf"),
        F.stddev_samp(running("peak_rod_load_lbf")).alias("load_stddev_lbf"),
        F.max(F.col("peak_rod_load_lbf") / F.col("structure_rating_lbf")).alias(
            "load_utilisation_max"
        ),
        F.avg("motor_temp_c").alias("temp_mean_c"),
        F.max("motor_temp_c").alias("temp_max_c"),
        F.stddev_samp("motor_temp_c").alias("temp_stddev_c"),
        F.avg(running("vibration_mm_s")).alias("vibration_mean_mm_s"),
        F.percentile_approx(running("vibration_mm_s"), 0.95).alias("vibration_p95_mm_s"),
        F.max("vibration_mm_s").alias("vibration_max_mm_s"),
        F.avg(running("pump_fillage_pct")).alias("fillage_mean_pct"),
        F.count_if(F.coalesce(anomalous, F.lit(False))).alias("anomaly_reading_count"),
    )

    previous_day = Window.partitionBy("pump_id").orderBy("reading_date")
    daily = daily.withColumn(
        "temp_mean_delta_c", F.col("temp_mean_c") - F.lag("temp_mean_c").over(previous_day)
    ).withColumn("reading_coverage", F.least(F.lit(1.0), F.col("reading_count") / READINGS_PER_DAY))

    conditions = {
        "motor_overheat": F.col("temp_max_c") > OVERHEAT_C,
        "high_vibration": F.col("vibration_p95_mm_s") > VIBRATION_MM_S,
        "rod_overload": F.col("load_utilisation_max") > OVERLOAD_UTILISATION,
        "fluid_pound": F.col("fillage_mean_pct") < FLUID_POUND_FILLAGE_PCT,
        "temp_rising": F.col("temp_mean_delta_c") > TEMP_RISE_C,
    }
    hits = {reason: F.coalesce(condition, F.lit(False)) for reason, condition in conditions.items()}
    score = sum(
        (F.when(hit, F.lit(WEIGHTS[reason])).otherwise(F.lit(0.0)) for reason, hit in hits.items()),
        F.lit(0.0),
    )
    reasons = F.concat_ws(",", *(F.when(hit, F.lit(reason)) for reason, hit in hits.items()))

    return (
        daily.withColumn("failure_risk_score", F.round(F.least(F.lit(1.0), score), 2))
        .withColumn("failure_risk_flag", F.col("failure_risk_score") >= RISK_FLAG_SCORE)
        .withColumn("risk_reasons", F.when(reasons != "", reasons))
        .select(
            "pump_id",
            "reading_date",
            "well_id",
            "field_name",
            "reading_count",
            F.round("reading_coverage", 4).alias("reading_coverage"),
            F.round("running_share", 4).alias("running_share"),
            "sensor_fault_count",
            F.round("spm_mean", 2).alias("spm_mean"),
            F.round("load_mean_lbf", 1).alias("load_mean_lbf"),
            "load_max_lbf",
            F.round("load_stddev_lbf", 1).alias("load_stddev_lbf"),
            F.round("load_utilisation_max", 4).alias("load_utilisation_max"),
            F.round("temp_mean_c", 2).alias("temp_mean_c"),
            "temp_max_c",
            F.round("temp_stddev_c", 2).alias("temp_stddev_c"),
            F.round("temp_mean_delta_c", 2).alias("temp_mean_delta_c"),
            F.round("vibration_mean_mm_s", 2).alias("vibration_mean_mm_s"),
            "vibration_p95_mm_s",
            "vibration_max_mm_s",
            F.round("fillage_mean_pct", 1).alias("fillage_mean_pct"),
            "anomaly_reading_count",
            "failure_risk_score",
            "failure_risk_flag",
            "risk_reasons",
        )
    )
