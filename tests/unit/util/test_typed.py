from dataclasses import dataclass, field
from typing import Any

import pytest

from swarmbench.util import typed


@dataclass
class Inner:
    n: int
    name: str = ""


@dataclass
class Outer:
    inner: Inner
    ratio: float | None = None
    tags: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    anything: Any = None


def test_a_well_typed_object_is_built_and_unknown_keys_ignored() -> None:
    out = typed.load(Outer, {"inner": {"n": 1}, "ratio": 2, "tags": ["a"], "new": 1})
    assert out == Outer(Inner(1), 2.0, ["a"])
    assert isinstance(out.ratio, float)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"inner": {"n": "1"}}, 'inner.n: "1" is not a whole number'),
        ({"inner": {"n": True}}, "inner.n: true is not a whole number"),
        ({"inner": {}}, "inner.n is missing"),
        ({"inner": {"n": 1}, "ratio": "x"}, 'ratio: "x" is not a number or null'),
        ({"inner": {"n": 1}, "tags": ["a", 2]}, "tags[1]: 2 is not text"),
        ({"inner": {"n": 1}, "counts": {"a": None}}, "counts.a: null is not a whole number"),
        ({"inner": [1]}, "inner: [1] is not an object"),
    ],
)
def test_a_mismatch_names_the_field_and_the_value(data: dict[str, Any], message: str) -> None:
    with pytest.raises(typed.TypeMismatch) as info:
        typed.load(Outer, data)
    assert str(info.value) == message


def test_non_finite_numbers_are_refused_when_read_and_nulled_when_written() -> None:
    for text in ('{"a": NaN}', '{"a": Infinity}', '{"a": -Infinity}'):
        with pytest.raises(ValueError, match="is not a JSON number"):
            typed.parse_json(text)
    assert typed.json_ready({"a": [float("nan"), 1.5, (float("inf"),)]}) == {
        "a": [None, 1.5, [None]]
    }
