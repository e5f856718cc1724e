"""Spark 4.1's numeric result types, as its type coercion gives them (ANSI mode, precision loss
allowed), for the expressions whose decimals the DuckDB engine must reproduce exactly.

The rules (checked against a real Spark 4.1 session in tests/platform/duck/test_decimals.py):
integers widen to ``decimal(3|5|10|20, 0)`` beside a decimal, an integer literal to the fewest
digits it needs; ``a / b`` takes scale ``max(6, s1 + p2 + 1)`` and ``p1 - s1 + s2`` integer
digits; ``+ - *`` the usual SQL-standard rules; ``sum`` adds ten digits, ``avg`` four digits and
four decimals; a result over 38 digits keeps its integer digits and gives up scale, down to 6.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

MAX_PRECISION = 38
MINIMUM_ADJUSTED_SCALE = 6

_INTEGRAL_DIGITS = {"tinyint": 3, "smallint": 5, "int": 10, "bigint": 20}
_INTEGRAL_ORDER = ["tinyint", "smallint", "int", "bigint"]
_NAMES = {
    "byte": "tinyint",
    "short": "smallint",
    "integer": "int",
    "long": "bigint",
    "real": "float",
    "numeric": "decimal",
    "dec": "decimal",
}


@dataclass(frozen=True)
class SparkType:
    """A Spark SQL type as far as arithmetic needs it: a name, and digits for a decimal."""

    name: str
    precision: int = 0
    scale: int = 0

    @property
    def is_decimal(self) -> bool:
        return self.name == "decimal"

    @property
    def is_integral(self) -> bool:
        return self.name in _INTEGRAL_DIGITS

    @property
    def is_fractional(self) -> bool:
        return self.name in ("float", "double")

    @property
    def is_numeric(self) -> bool:
        return self.is_decimal or self.is_integral or self.is_fractional

    def as_decimal(self) -> SparkType | None:
        """The decimal Spark converts this type to beside a decimal, if any."""
        if self.is_decimal:
            return self
        if self.is_integral:
            return decimal(_INTEGRAL_DIGITS[self.name], 0)
        return None

    def __str__(self) -> str:
        return f"decimal({self.precision},{self.scale})" if self.is_decimal else self.name


def decimal(precision: int, scale: int) -> SparkType:
    return SparkType("decimal", precision, scale)


DOUBLE = SparkType("double")
BIGINT = SparkType("bigint")
INT = SparkType("int")
BOOLEAN = SparkType("boolean")
NULL = SparkType("void")


def parse_type(text: str) -> SparkType:
    """``DECIMAL(12, 2)``, ``BIGINT``, ``decimal`` (= decimal(10,0)) ... as a SparkType; any
    other type keeps its lower-case name."""
    compact = "".join(text.split()).lower()
    name, _, rest = compact.partition("(")
    name = _NAMES.get(name, name)
    if name != "decimal":
        return SparkType(compact if rest else name)
    if not rest:
        return decimal(10, 0)
    digits = rest.rstrip(")").split(",")
    precision = int(digits[0])
    scale = int(digits[1]) if len(digits) > 1 and digits[1] else 0
    return decimal(precision, scale)


def literal_type(text: str) -> SparkType | None:
    """The type Spark gives a numeric literal written ``text`` (no suffix): int, bigint, a
    decimal of exactly its digits (``2.0`` is decimal(2,1)), or double with an exponent."""
    lowered = text.lower()
    if "e" in lowered:
        return DOUBLE
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    if "." not in text:
        number = int(value)
        if -(2**31) <= number < 2**31:
            return INT
        if -(2**63) <= number < 2**63:
            return BIGINT
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    scale = max(-exponent, 0)
    precision = max(len(digits), scale) if exponent <= 0 else len(digits) + exponent
    if precision > MAX_PRECISION:
        return DOUBLE
    return decimal(precision, scale)


def integral_literal_decimal(text: str) -> SparkType:
    """An integer literal beside a decimal in ``+ - * /``: only the digits its value needs."""
    return decimal(max(len(str(abs(int(text)))), 1), 0)


def bounded(precision: int, scale: int) -> SparkType:
    return decimal(min(precision, MAX_PRECISION), min(scale, MAX_PRECISION))


def adjusted(precision: int, scale: int) -> SparkType:
    """Over 38 digits, Spark keeps the integer digits and gives up scale (down to 6)."""
    if precision <= MAX_PRECISION:
        return decimal(precision, scale)
    integer_digits = precision - scale
    minimum = min(scale, MINIMUM_ADJUSTED_SCALE)
    return decimal(MAX_PRECISION, max(MAX_PRECISION - integer_digits, minimum))


def divide(left: SparkType, right: SparkType) -> SparkType:
    p1, s1, p2, s2 = left.precision, left.scale, right.precision, right.scale
    scale = max(MINIMUM_ADJUSTED_SCALE, s1 + p2 + 1)
    return adjusted(p1 - s1 + s2 + scale, scale)


def add(left: SparkType, right: SparkType) -> SparkType:
    p1, s1, p2, s2 = left.precision, left.scale, right.precision, right.scale
    scale = max(s1, s2)
    return adjusted(max(p1 - s1, p2 - s2) + scale + 1, scale)


def multiply(left: SparkType, right: SparkType) -> SparkType:
    return adjusted(left.precision + right.precision + 1, left.scale + right.scale)


def wider(left: SparkType, right: SparkType) -> SparkType | None:
    """The common type of two branches (CASE, coalesce, greatest): None when not numeric."""
    if left == NULL:
        return right
    if right == NULL or left == right:
        return left
    if not (left.is_numeric and right.is_numeric):
        return None
    if left.is_fractional or right.is_fractional:
        return DOUBLE
    if left.is_integral and right.is_integral:
        return max(left, right, key=lambda t: _INTEGRAL_ORDER.index(t.name))
    first, second = left.as_decimal(), right.as_decimal()
    assert first is not None and second is not None
    scale = max(first.scale, second.scale)
    digits = max(first.precision - first.scale, second.precision - second.scale)
    return bounded(digits + scale, scale)


def sum_type(argument: SparkType) -> SparkType | None:
    if argument.is_decimal:
        return bounded(argument.precision + 10, argument.scale)
    if argument.is_integral:
        return BIGINT
    return DOUBLE if argument.is_fractional else None


def average_type(argument: SparkType) -> SparkType | None:
    if argument.is_decimal:
        return bounded(argument.precision + 4, argument.scale + 4)
    return DOUBLE if argument.is_numeric else None


def round_type(argument: SparkType, digits: int) -> SparkType:
    """``round(x, d)``: a decimal keeps at most ``d`` decimals and may gain an integer digit."""
    if not argument.is_decimal or digits < 0:
        return argument
    scale = min(argument.scale, digits)
    return bounded(argument.precision - argument.scale + 1 + scale, scale)


def floor_type(argument: SparkType) -> SparkType:
    if argument.is_decimal:
        return bounded(argument.precision - argument.scale + 1, 0)
    return BIGINT if argument.is_numeric else argument
