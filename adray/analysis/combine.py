"""Several sweep folders as one runs table: ``adray report A B ...``.

Why: a comparison is often run in pieces (the baseline a month after the method, a method added
later), and the report must put them in one table. That is only right when the pieces ran the same
experiment, so two things are refused, with one message naming the difference:

* the same dataset and setting name (in the same setting group) with different setting fields (say
  ``p_test`` 0.2 in one folder and 0.3 in the other): the numbers would sit side by side but measure
  different splits;
* trials of one dataset that ran on different data (:func:`adray.sweep.trial.data_version` in
  ``trial.json``: loader and storage versions, rows, shape, class counts). Trials written before
  adray recorded it cannot be checked; the report warns how many.

A trial found in several folders (same configuration, setting and seed) is counted once, as within
one folder: the ok copy, else the one in the folder named first; the others are listed as duplicates.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from adray.analysis.collect import _PREFERENCE, DUPLICATE, FOREIGN, collect
from adray.errors import AdrayError

_LISTED = 5


def _differences(a: dict, b: dict) -> str:
    """``p_test 0.2 vs 0.3; loader_version 1 vs 2`` (fields only one side has show as "absent")."""
    keys = sorted(set(a) | set(b), key=str)
    return "; ".join(f"{k} {a.get(k, 'absent')!s} vs {b.get(k, 'absent')!s}" for k in keys if a.get(k) != b.get(k))


def _setting_conflicts(runs: pd.DataFrame, names: dict[str, str]) -> list[str]:
    found = []
    rows = runs.dropna(subset=["dataset", "setting_json"])
    for (dataset, name, group), part in rows.groupby(["dataset", "setting_name", "group"], sort=True):
        per_folder = part.groupby("sweep", sort=False)["setting_json"].agg(lambda v: frozenset(v))
        if per_folder.nunique() < 2:
            continue
        (first, mine), *others = per_folder.items()
        for folder, theirs in others:
            if theirs == mine:
                continue
            a, b = json.loads(min(mine - theirs or mine)), json.loads(min(theirs - mine or theirs))
            found.append(f"dataset {dataset}, setting {name or '-'!r} ({group}): {_differences(a, b)} "
                         f"({names[first]} vs {names[folder]})")
    return found


def _data_conflicts(runs: pd.DataFrame, names: dict[str, str]) -> list[str]:
    found = []
    rows = runs.dropna(subset=["dataset", "data_version"])
    for dataset, part in rows.groupby("dataset", sort=True):
        versions = part.drop_duplicates("data_version")
        if len(versions) < 2:
            continue
        (a_dir, a), (b_dir, b) = [(r.sweep, json.loads(r.data_version)) for r in versions.head(2).itertuples()]
        found.append(f"dataset {dataset}: {_differences(a, b)} ({names[a_dir]} vs {names[b_dir]})")
    return found


def _mark_duplicates(runs: pd.DataFrame, order: dict[str, int]) -> pd.DataFrame:
    """Count each trial_key once across folders; the other copies become ``duplicate`` rows."""
    counted = runs[runs["trial_key"].notna() & ~runs["status"].isin([DUPLICATE, FOREIGN])]
    ranked = counted.assign(_rank=counted["status"].map(lambda s: _PREFERENCE.get(s, 3)),
                            _folder=counted["sweep"].map(order))
    ranked = ranked.sort_values(["_rank", "_folder"], kind="mergesort")
    kept = ranked.drop_duplicates("trial_key")
    dropped = ranked.index.difference(kept.index)
    if len(dropped):
        keeper = kept.set_index("trial_key")["trial_dir"]
        runs = runs.copy()
        runs.loc[dropped, "status"] = DUPLICATE
        runs.loc[dropped, "error"] = [f"the same trial as {keeper[k]}, which is counted instead"
                                      for k in runs.loc[dropped, "trial_key"]]
    return runs


def collect_sweeps(folders) -> tuple[pd.DataFrame, list[str]]:
    """One runs table (with a ``sweep`` column) for several sweep folders, and warnings for the report.

    Raises :class:`AdrayError` for a folder given twice, a setting that differs between folders, or a
    dataset whose data differ between them.
    """
    folders = [Path(f) for f in folders]
    seen: dict[Path, Path] = {}
    for folder in folders:
        key = folder.resolve()
        if key in seen:
            raise AdrayError(f"{folder}: given twice (as {seen[key]} too); name each sweep folder once")
        seen[key] = folder
    frames = [collect(folder).assign(sweep=str(folder)) for folder in folders]
    runs = pd.concat(frames, ignore_index=True)
    runs["sweep"] = runs["sweep"].astype("string")
    names = {str(f): str(f) for f in folders}
    conflicts = _setting_conflicts(runs, names)
    if conflicts:
        raise AdrayError("cannot merge these sweeps: the same setting has different fields, so their numbers "
                         "are not comparable: " + " | ".join(conflicts[:_LISTED])
                         + (f" | and {len(conflicts) - _LISTED} more" if len(conflicts) > _LISTED else ""))
    conflicts = _data_conflicts(runs, names)
    if conflicts:
        raise AdrayError("cannot merge these sweeps: they ran on different data (prepare the dataset with the "
                         "same adray and raw files, or report them apart): " + " | ".join(conflicts[:_LISTED]))
    runs = _mark_duplicates(runs, {str(f): i for i, f in enumerate(folders)})
    warnings = []
    ran = runs[runs["status"].isin(["ok", "error"])]
    unknown = int(ran["data_version"].isna().sum())
    if unknown:
        warnings.append(f"{unknown} trial(s) do not record their data version (written by an older adray): "
                        "that their data match the other folders' is not checked")
    twice = int((runs["status"] == DUPLICATE).sum()) - sum(int((f["status"] == DUPLICATE).sum()) for f in frames)
    if twice:
        warnings.append(f"{twice} trial(s) are in more than one of the folders: each is counted once "
                        "(problems.csv lists the other copies as duplicates)")
    return runs, warnings
