"""Census-Income (KDD), read from UCI's ``census-income.data(.gz)`` and ``census-income.test(.gz)``.

Source: https://archive.ics.uci.edu/dataset/117/census+income+kdd (US Current Population Surveys
1994 and 1995: 199,523 training and 99,762 test records).

Format: no header; each line holds 42 values separated by a comma and a space: the 40 attributes of
``census-income.names``, with the unlisted instance weight at index 24, then the income label
``- 50000.`` or `` 50000+.``.

Preprocessing (as ARGUE's loader):

- every column except the numeric ones {0, 5, 16, 17, 18, 24, 30, 39} is one-hot encoded (industry
  and occupation recodes, year and veterans' benefits are codes, so they are one-hot too). Columns
  are named ``<attribute>_<value>``; the category lists come from train and test together, so both
  files get identical columns;
- the instance weight (index 24) stays a plain numeric feature, as in ARGUE. UCI says it should not
  be used for classification; we keep it to reproduce the seed;
- labels: income "50000-" / "50000+"; group: sex ("Male"/"Female"), ARGUE's experts;
- ``official_test`` marks the rows of ``census-income.test``.

Deviation from the seed: ARGUE reads ``census-income.test`` for both its training and its test set
(a bug, listed in ARGUE's README). Here the training rows come from ``census-income.data`` and the test rows
from ``census-income.test``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from adray.data.sources import RawData
from adray.data.sources._csv import file_line, read_csv, to_numeric
from adray.errors import MalformedFileError

ATTRIBUTES = [
    "age", "class of worker", "detailed industry recode", "detailed occupation recode", "education",
    "wage per hour", "enroll in edu inst last wk", "marital stat", "major industry code",
    "major occupation code", "race", "hispanic origin", "sex", "member of a labor union",
    "reason for unemployment", "full or part time employment stat", "capital gains", "capital losses",
    "dividends from stocks", "tax filer stat", "region of previous residence", "state of previous residence",
    "detailed household and family stat", "detailed household summary in household", "instance weight",
    "migration code-change in msa", "migration code-change in reg", "migration code-move within reg",
    "live in this house 1 year ago", "migration prev res in sunbelt", "num persons worked for employer",
    "family members under 18", "country of birth father", "country of birth mother", "country of birth self",
    "citizenship", "own business or self employed", "fill inc questionnaire for veteran's admin",
    "veterans benefits", "weeks worked in year", "year",
]  # fmt: skip
NUMERIC = (0, 5, 16, 17, 18, 24, 30, 39)
SEX = 12
INCOME = {"- 50000.": "50000-", "50000+.": "50000+"}  # raw label (after the leading space) -> class


def _read_one(path: Path) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """(raw string frame, numeric columns, labels) of one file."""
    frame = read_csv(path, header_lines=0, header=None, dtype=str, skipinitialspace=True, keep_default_na=False)
    if frame.shape[1] != len(ATTRIBUTES) + 1:
        raise MalformedFileError(
            path, f"expected {len(ATTRIBUTES) + 1} comma-separated values, found {frame.shape[1]}", line=1
        )
    frame.columns = [*ATTRIBUTES, "income"]
    labels = frame["income"].str.strip().map(INCOME)
    if labels.isna().any():
        row = labels.isna().idxmax()
        raise MalformedFileError(
            path,
            f"the income label must be '- 50000.' or ' 50000+.', found {frame['income'][row]!r}",
            line=file_line(frame, row),
        )
    numeric = to_numeric(frame[[ATTRIBUTES[i] for i in NUMERIC]], path)
    return frame, numeric, labels.to_numpy()


def read(root: Path, files: list[Path]) -> RawData:
    parts = [_read_one(path) for path in files[:2]]  # census-income.data, census-income.test
    frame = pd.concat([p[0] for p in parts], ignore_index=True)
    numeric = pd.concat([p[1] for p in parts], ignore_index=True)
    n = len(frame)
    # one-hot straight into float32 (train and test together, so the category lists are the union)
    columns = []
    for i, name in enumerate(ATTRIBUTES):
        if i in NUMERIC:
            columns.append((name, None, None))
        else:
            values = pd.Categorical(frame[name].str.strip())
            columns.append((name, values.codes, list(values.categories)))
    width = sum(1 if codes is None else len(cats) for _, codes, cats in columns)
    X = np.zeros((n, width), dtype=np.float32)
    names, offset = [], 0
    for name, codes, cats in columns:
        if codes is None:
            X[:, offset] = numeric[name].to_numpy()
            names.append(name)
            offset += 1
        else:
            X[np.arange(n), offset + codes] = 1.0
            names.extend(f"{name}_{value}" for value in cats)
            offset += len(cats)
    official_test = np.concatenate([np.full(len(p[0]), i == 1) for i, p in enumerate(parts)])
    return RawData(
        X,
        np.concatenate([p[2] for p in parts]),
        names,
        groups=frame[ATTRIBUTES[SEX]].str.strip().to_numpy(),
        official_test=official_test,
    )
