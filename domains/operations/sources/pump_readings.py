"""Synthetic SCADA feed of the pumpjacks: one JSON line per pump every five minutes.

Each reading summarises the dynamometer cards of the last five minutes: stroke length, peak and
minimum polished-rod load, strokes per minute, motor current and temperature, gearbox vibration and
pump fillage. Most pumps run normally; a few degrade over the window (motor heating, rising
vibration and load, the failure the ``pump_health`` product should flag), a few suffer fluid pound
(incomplete fillage, the pump-off controller idles them now and then).

The gateway's imperfections are kept: retransmitted readings (same ``sequence_no``), gaps when a
radio link drops, a -9999 sentinel for a failed temperature probe, missing vibration values,
lower-case pump ids from old firmware, and two timestamp styles (ISO with ``T`` from new RTUs,
with a space from old ones), all local plant time without an offset.

Pump number ``k`` maps to its well and unit by ``unit_of(k)``, repeated from ``pump_registry.py``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from datetime import datetime, timedelta

BASE_PUMPS = 40
MIN_PUMPS = 4
DAYS = 3
READINGS_PER_DAY = 288  # one per five minutes
FIRST_DAY = datetime(2025, 12, 29)
SENSOR_FAULT = -9999.0

FIELD_PREFIXES = ["SCH", "RUE", "SUP", "EML"]
# (structure rating lbf, max stroke in), in the order of pump_registry.UNITS
UNITS = [(21_300, 86), (25_600, 120), (30_500, 144), (36_500, 168)]


def pump_count(scale: float) -> int:
    """Pumps that send telemetry at ``scale`` (same formula as ``pump_registry.py``)."""
    return max(MIN_PUMPS, int(BASE_PUMPS * scale))


def unit_of(number: int) -> tuple[str, str, int, int]:
    """pump_id, well_id, structure rating and max stroke of pump k (as in pump_registry.py)."""
    rating, stroke = UNITS[(number * 3 + number // 5) % len(UNITS)]
    prefix = FIELD_PREFIXES[(number - 1) % len(FIELD_PREFIXES)]
    well_id = f"{prefix}-{(number - 1) // len(FIELD_PREFIXES) + 1:03d}"
    return f"PJ-{number:04d}", well_id, rating, stroke


def generate(scale: float, rng: random.Random) -> Iterator[dict[str, object]]:
    total = DAYS * READINGS_PER_DAY
    for number in range(1, pump_count(scale) + 1):
        pump_id, well_id, rating, max_stroke = unit_of(number)
        degrading = number == 3 or rng.random() < 0.08
        fluid_pound = not degrading and (number == 4 or rng.random() < 0.07)
        old_rtu = rng.random() < 0.3

        utilisation = rng.uniform(0.55, 0.75)
        stroke = max_stroke * rng.choice([0.8, 0.9, 1.0])
        spm = rng.uniform(5.0, 9.0)
        temp_base = rng.uniform(50.0, 60.0)
        vibration_base = rng.uniform(1.2, 2.8)
        fillage_base = rng.uniform(45.0, 65.0) if fluid_pound else rng.uniform(88.0, 98.0)

        outage: range = range(0)
        if rng.random() < 0.3:
            start = rng.randrange(total)
            outage = range(start, start + rng.randint(12, 48))  # one to four hours

        idle_left = 0
        temp = temp_base
        for index in range(total):
            if index in outage or rng.random() < 0.005:
                continue  # the reading never reached the historian
            progress = index / (total - 1)
            ts = FIRST_DAY + timedelta(minutes=5 * index)
            minute_of_day = (index % READINGS_PER_DAY) * 5
            ambient = 3.0 * math.sin((minute_of_day / 1440 - 0.4) * 2 * math.pi)

            if fluid_pound and idle_left == 0 and rng.random() < 0.02:
                idle_left = rng.randint(3, 9)  # pump-off controller waits for the well to refill
            running = idle_left == 0
            idle_left = max(0, idle_left - 1)

            util = utilisation + (0.22 * progress if degrading else 0.0)
            heating = 35.0 * progress**1.5 if degrading else 0.0
            shaking = 7.0 * progress**2 if degrading else 0.0
            if running:
                peak = rating * util * rng.gauss(1.0, 0.02)
                minimum = peak * rng.uniform(0.3, 0.4)
                fillage = min(100.0, rng.gauss(fillage_base, 4.0))
                if fluid_pound:
                    minimum *= rng.uniform(0.6, 0.9)  # the plunger hits fluid: load drops
                speed = rng.gauss(spm, 0.15)
                current = 18.0 + 40.0 * util * rng.gauss(1.0, 0.03)
                target = temp_base + 10.0 * util + heating + ambient
                vibration = vibration_base + shaking + (1.5 if fluid_pound else 0.0)
                vibration *= rng.gauss(1.0, 0.08)
                stroke_now = stroke * rng.gauss(1.0, 0.005)
            else:
                peak = minimum = rating * 0.42 * rng.gauss(1.0, 0.01)  # static rod weight
                fillage = 0.0
                speed = current = 0.0
                target = temp_base - 15.0 + ambient
                vibration = rng.uniform(0.1, 0.3)
                stroke_now = 0.0
            temp += (target - temp) * 0.3 + rng.gauss(0.0, 0.4)

            temp_value = round(temp, 1) if rng.random() > 0.002 else SENSOR_FAULT
            vibration_value = round(max(0.0, vibration), 2) if rng.random() > 0.005 else None
            row: dict[str, object] = {
                "pump_id": pump_id if rng.random() > 0.01 else pump_id.lower(),
                "well_id": well_id,
                "reading_ts": ts.strftime("%Y-%m-%d %H:%M:%S" if old_rtu else "%Y-%m-%dT%H:%M:%S"),
                "sequence_no": (number * 100_000) + index,
                "stroke_length_in": round(stroke_now, 1),
                "peak_rod_load_lbf": round(peak, 1),
                "min_rod_load_lbf": round(minimum, 1),
                "strokes_per_minute": round(max(0.0, speed), 2),
                "motor_current_a": round(max(0.0, current), 1),
                "motor_temp_c": temp_value,
                "vibration_mm_s": vibration_value,
                "pump_fillage_pct": round(max(0.0, fillage), 1),
            }
            yield row
            if rng.random() < 0.003:
                yield dict(row)  # retransmitted by the gateway after a missed acknowledgement
