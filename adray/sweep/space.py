"""Search-space distributions for ``--set``: ``loguniform(1e-5,1e-2)``, ``uniform(0,0.5)``,
``randint(1,4)``, ``choice(64,128,256)``.

A value list (``--set lr=1e-3,1e-4``) is a grid axis; a distribution is sampled by the searcher
(``--search random`` or ``optuna``), once per sampled configuration, and every sample runs on every
seed. The semantics are Ray Tune's (``tune.loguniform`` etc.): ``randint``'s upper bound is
exclusive. Each distribution is checked against the detector's hyperparameter before anything runs.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

from adray.errors import AdrayError

KINDS = ("uniform", "loguniform", "randint", "choice")
_CALL = re.compile(r"^\s*(uniform|loguniform|randint|choice)\s*\((.*)\)\s*$", re.S)


@dataclass(frozen=True)
class Distribution:
    kind: str
    args: tuple

    def to_dict(self) -> dict:
        return {"distribution": self.kind, "args": list(self.args)}

    @classmethod
    def from_dict(cls, raw: dict) -> Distribution:
        return cls(raw["distribution"], tuple(raw["args"]))

    def __str__(self) -> str:
        return f"{self.kind}({', '.join(json.dumps(a) for a in self.args)})"

    def values_to_check(self) -> list:
        """The values the detector must accept: every choice, else the two ends of the range."""
        if self.kind == "choice":
            return list(self.args)
        low, high = self.args
        return [low, high - 1] if self.kind == "randint" else [low, high]


def is_distribution(value) -> bool:
    return isinstance(value, dict) and "distribution" in value


def parse_distribution(text: str) -> Distribution | None:
    """``loguniform(1e-5,1e-2)`` -> Distribution; None when ``text`` is not a distribution call."""
    from adray.sweep.request import parse_value, split_values

    match = _CALL.match(text)
    if match is None:
        return None
    kind, inner = match.groups()
    args = tuple(parse_value(a) for a in split_values(inner)) if inner.strip() else ()
    where = f"{kind}({inner})"
    if kind == "choice":
        if not args:
            raise AdrayError(f"{where}: choice needs at least one value, e.g. choice(64,128,256)")
        return Distribution(kind, args)
    if len(args) != 2 or not all(isinstance(a, int | float) and not isinstance(a, bool) for a in args):
        raise AdrayError(f"{where}: {kind} takes two numbers, low and high, e.g. {kind}(1,4)")
    low, high = args
    if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
        raise AdrayError(f"{where}: low must be below high")
    if kind == "loguniform" and low <= 0:
        raise AdrayError(f"{where}: loguniform needs low > 0 (it samples the logarithm)")
    if kind == "randint" and not (isinstance(low, int) and isinstance(high, int)):
        raise AdrayError(f"{where}: randint takes whole numbers (the upper bound is exclusive)")
    return Distribution(kind, args)


def check_distribution(method: str, key: str, dist: Distribution, integers_only: bool, check) -> None:
    """Refuse a distribution whose values the hyperparameter cannot take (``check(value)`` raises): the
    ends of its range, or each of its choices, must pass the detector's constraint table."""
    if integers_only and dist.kind in ("uniform", "loguniform"):
        raise AdrayError(f"{method}: {key}={dist} samples fractions, but {key} is a whole number; "
                         "use randint(low, high) or choice(...)")
    for value in dist.values_to_check():
        try:
            check(value)
        except AdrayError as exc:
            raise AdrayError(f"{method}: {key}={dist} can sample a value the detector refuses: {exc}") from None
