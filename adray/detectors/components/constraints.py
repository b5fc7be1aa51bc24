"""Hyperparameter constraints: one declarative table per detector, checked by one function.

A detector declares ``param_constraints = {name: [constraint, ...]}``: a value is valid when it meets
at least one constraint of its list (``None`` in the list admits ``None``). This is scikit-learn's
``_parameter_constraints`` idea; its ``sklearn.utils._param_validation`` is a private module whose API
changes between releases, so adray keeps these few constraint types of its own.

:func:`check_params` is the one check. ``BaseDetector.fit`` calls it before training, and the sweep
calls it on every grid value and on the ends of every ``--set`` distribution before Ray starts, so a
value that would fail in every trial is refused once, with the same message in both places.
Hyperparameters a detector does not list (a plug-in's) are held to the type of their default: a bool
default takes true/false, an int default whole numbers, a float default numbers.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Iterable, Mapping

import numpy as np

from adray.errors import AdrayError


class ParamError(AdrayError, ValueError):
    """A hyperparameter value its detector's constraint table refuses."""


def _is_int(value) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def _is_number(value) -> bool:
    return (isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool | np.bool_)
            and math.isfinite(value))


class Interval:
    """A number (``kind=float``; ints count) or a whole number (``kind=int``) in a range; ``None`` = open.

    ``closed`` says which ends belong to the range: "both", "left", "right" or "neither".
    """

    def __init__(self, kind: type, low: float | None = None, high: float | None = None, *, closed: str = "both"):
        if kind not in (int, float) or closed not in ("both", "left", "right", "neither"):
            raise ValueError(f"Interval({kind!r}, closed={closed!r}): kind is int or float; closed is both, left, "
                             "right or neither")
        self.kind, self.low, self.high, self.closed = kind, low, high, closed

    def accepts(self, value) -> bool:
        if not (_is_int(value) if self.kind is int else _is_number(value)):
            return False
        if self.low is not None and (value < self.low or (value == self.low and self.closed in ("right", "neither"))):
            return False
        high_out = self.high is not None and (value > self.high
                                              or (value == self.high and self.closed in ("left", "neither")))
        return not high_out

    def __str__(self) -> str:
        what = "an integer" if self.kind is int else "a number"
        low_in, high_in = self.closed in ("both", "left"), self.closed in ("both", "right")
        if self.low is None and self.high is None:
            return what
        if self.high is None:
            return f"{what} {'>=' if low_in else '>'} {self.low:g}"
        if self.low is None:
            return f"{what} {'<=' if high_in else '<'} {self.high:g}"
        return f"{what} in {'[' if low_in else '('}{self.low:g}, {self.high:g}{']' if high_in else ')'}"


class Options:
    """One of a fixed set of values (strings or numbers; a bool never passes for a number)."""

    def __init__(self, *values):
        self.values = values

    def accepts(self, value) -> bool:
        value = int(value) if _is_int(value) else value
        return any(value == option and isinstance(value, bool) == isinstance(option, bool)
                   and isinstance(value, str) == isinstance(option, str) for option in self.values)

    def __str__(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)


class IntSequence:
    """A list or tuple of at least ``min_len`` positive integers (layer widths)."""

    def __init__(self, min_len: int = 1):
        self.min_len = min_len

    def accepts(self, value) -> bool:
        return (isinstance(value, list | tuple | np.ndarray) and len(value) >= self.min_len
                and all(_is_int(v) and v > 0 for v in value))

    def __str__(self) -> str:
        if self.min_len == 0:
            return "a sequence of positive integers"
        if self.min_len == 1:
            return "a non-empty sequence of positive integers"
        return f"a sequence of at least {self.min_len} positive integers"


class Subset:
    """A non-empty list or tuple of distinct values from ``options`` (e.g. AMSL's views)."""

    def __init__(self, *options):
        self.options = options

    def accepts(self, value) -> bool:
        return (isinstance(value, list | tuple) and len(value) > 0 and len(set(value)) == len(value)
                and all(isinstance(v, str) and v in self.options for v in value))

    def __str__(self) -> str:
        return "a non-empty list of distinct values from " + ", ".join(repr(v) for v in self.options)


class TextSequence:
    """A non-empty list or tuple of strings (names the data decides on, e.g. R2-AD2's layer names)."""

    def accepts(self, value) -> bool:
        return isinstance(value, list | tuple) and len(value) > 0 and all(isinstance(v, str) for v in value)

    def __str__(self) -> str:
        return "a non-empty list of strings"


class Boolean:
    def accepts(self, value) -> bool:
        return isinstance(value, bool | np.bool_)

    def __str__(self) -> str:
        return "true or false"


class Text:
    def accepts(self, value) -> bool:
        return isinstance(value, str)

    def __str__(self) -> str:
        return "a string"


# the constraints most hyperparameters share
POSITIVE_INT = Interval(int, 1)  # sizes, counts
EPOCHS = Interval(int, 0)  # training length; 0 builds the model without training it (a stage: skips it)
POSITIVE = Interval(float, 0, closed="neither")  # learning rates, scales
NON_NEGATIVE = Interval(float, 0)  # loss weights, penalties
DROPOUT = Interval(float, 0, 1, closed="left")  # a dropout rate of 1 would zero every activation


def describe(constraints: Iterable) -> str:
    return " or ".join("None" if c is None else str(c) for c in constraints)


def _inferred(default) -> list | None:
    """The constraint a hyperparameter's default implies when the detector declares none: its type only."""
    if isinstance(default, bool):
        return [Boolean()]
    if isinstance(default, int):
        return [Interval(int)]
    if isinstance(default, float):
        return [Interval(float)]
    return None


def constraints_of(cls) -> dict[str, list]:
    """``{name: [constraint, ...]}`` for every hyperparameter of ``cls`` that has one (declared or inferred)."""
    declared = dict(getattr(cls, "param_constraints", {}))
    signature = inspect.signature(cls.__init__)
    for name, parameter in signature.parameters.items():
        if name == "self" or name in declared or parameter.default is inspect.Parameter.empty:
            continue
        inferred = _inferred(parameter.default)
        if inferred is not None:
            declared[name] = inferred
    return declared


def check_param(cls, name: str, value, constraints: Iterable | None = None) -> None:
    """Raise :class:`ParamError` unless ``value`` meets one of the constraints of ``cls``'s hyperparameter ``name``."""
    constraints = list(constraints_of(cls).get(name, ()) if constraints is None else constraints)
    if not constraints or any(value is None if c is None else c.accepts(value) for c in constraints):
        return
    raise ParamError(f"{cls.__name__}: {name}={value!r} must be {describe(constraints)}")


def check_params(cls, params: Mapping) -> None:
    """Check every value of ``params`` against ``cls``'s constraint table (see the module docstring)."""
    table = constraints_of(cls)
    for name, value in params.items():
        if name in table:
            check_param(cls, name, value, table[name])


def integers_only(constraints: Iterable) -> bool:
    """True when every number the constraints admit is whole (a uniform distribution cannot fit it)."""
    whole = []
    for c in constraints:
        if isinstance(c, Interval):
            whole.append(c.kind is int)
        elif isinstance(c, Options) and any(_is_number(v) for v in c.values):
            whole.append(all(_is_int(v) for v in c.values if _is_number(v)))
    return bool(whole) and all(whole)
