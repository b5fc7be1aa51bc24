"""Tables parse back into the merged numbers; best per column is bold; --no-std and transpose work."""

from __future__ import annotations

import io
import re

import numpy as np
import pandas as pd
import pytest

from adray.analysis import tables

MD_CELL = re.compile(r"^(\*\*)?(-?\d*\.\d+)(?: ± (\d*\.\d+))?(\*\*)?(†)?$")
TEX_CELL = re.compile(r"^(\\textbf\{\\boldmath)?\$(-?\d*\.\d+)(?: \\scriptscriptstyle \\pm (\d*\.\d+))?\$\}?"
                      r"(\\textsuperscript\{\\dag\})?$")


def parse_markdown(text: str) -> dict[str, pd.DataFrame]:
    """{group: DataFrame of cell strings} from main.md."""
    out = {}
    for section in text.split("### ")[1:]:
        group = re.search(r"\((p_contamination=[^)]*)\)", section.splitlines()[0]).group(1)
        lines = [line for line in section.splitlines() if line.startswith("|")]
        header = [c.strip() for c in lines[0].strip("|").split("|")]
        rows = [[c.strip() for c in line.strip("|").split(" | ")] for line in lines[2:]]
        out[group] = pd.DataFrame([r[1:] for r in rows], index=[r[0] for r in rows], columns=header[1:])
    return out


def parse_latex(text: str) -> dict[str, pd.DataFrame]:
    out = {}
    for block in text.split(r"\begin{tabular}")[1:]:
        group = re.search(r"\((p_contamination=[^)]*)\)", text[: text.index(block)].split("% test")[-1]).group(1)
        body = block.split(r"\midrule")[1].split(r"\bottomrule")[0]
        head = block.split(r"\toprule")[1].split(r"\midrule")[0]
        header = [c.strip().replace("\\_", "_") for c in head.strip().removesuffix(r"\\").split(" & ")]
        rows = [[c.strip().replace("\\_", "_") for c in line.strip().removesuffix(r"\\").split(" & ")]
                for line in body.strip().splitlines()]
        out[group] = pd.DataFrame([r[1:] for r in rows], index=[r[0] for r in rows], columns=header[1:])
    return out


def md_number(cell: str) -> tuple[float, float, bool]:
    match = MD_CELL.match(cell)
    if not match:
        return np.nan, np.nan, False
    return float(match.group(2)), float(match.group(3)) if match.group(3) else np.nan, bool(match.group(1))


def tex_number(cell: str) -> tuple[float, float, bool]:
    match = TEX_CELL.match(cell)
    if not match:
        return np.nan, np.nan, False
    return float(match.group(2)), float(match.group(3)) if match.group(3) else np.nan, bool(match.group(1))


@pytest.mark.parametrize(("name", "parse", "number"), [("main.md", parse_markdown, md_number),
                                                       ("main.tex", parse_latex, tex_number)])
def test_tables_parse_back_to_the_merged_means(generated_report, name, parse, number):
    report = generated_report.report_dir
    merged = pd.read_csv(report / "merged.csv")
    merged = merged[(merged["split"] == "test") & (merged["metric"] == "auc")]
    parsed = parse((report / name).read_text())
    assert set(parsed) == set(merged["group"])
    checked = 0
    for group, table in parsed.items():
        part = merged[merged["group"] == group]
        assert set(table.index) == set(part["method"])
        assert list(table.columns[-2:]) == ["mean", "p"]
        for row in part.itertuples():
            mean, std, _ = number(table.at[row.method, row.unit])
            assert mean == pytest.approx(row.mean, abs=0.005 + 1e-9)
            if row.n > 1:
                assert std == pytest.approx(row.std, abs=0.005 + 1e-9)
            checked += 1
        for unit in [c for c in table.columns if c != "p"]:
            values = [number(v) for v in table[unit]]
            best = max(v[0] for v in values if np.isfinite(v[0]))
            assert all(bold == (mean == best) for mean, _, bold in values if np.isfinite(mean)), unit
        averages = part.groupby("method")["mean"].mean()
        for method, value in averages.items():
            assert number(table.at[method, "mean"])[0] == pytest.approx(value, abs=0.005 + 1e-9)
    assert checked == len(merged)


def test_csv_holds_the_unrounded_numbers(generated_report):
    report = generated_report.report_dir
    merged = pd.read_csv(report / "merged.csv")
    merged = merged[(merged["split"] == "test") & (merged["metric"] == "auc")]
    main = pd.read_csv(report / "main.csv")
    for row in merged.itertuples():
        line = main[(main["group"] == row.group) & (main["method"] == row.method)].iloc[0]
        assert line[row.unit] == pytest.approx(row.mean) and line[f"{row.unit} std"] == pytest.approx(row.std,
                                                                                                     nan_ok=True)
    stats = pd.read_csv(report / "stats.csv")
    across = stats[(stats["test"] == "wilcoxon across datasets") & (stats["metric"] == "auc")]
    for row in across.itertuples():
        line = main[(main["group"] == row.group) & (main["method"] == row.method)].iloc[0]
        assert line["p"] == pytest.approx(row.p) and line["p_holm"] == pytest.approx(row.p_holm)


def _one_table() -> tables.GroupTable:
    mean = pd.DataFrame({"mnist": [0.931, 0.8], "nsl_kdd": [0.5, 0.6]}, index=["a3", "ae"])
    std = pd.DataFrame({"mnist": [0.012, np.nan], "nsl_kdd": [0.1, 0.05]}, index=["a3", "ae"])
    short = pd.DataFrame({"mnist": [False, True], "nsl_kdd": [False, False]}, index=["a3", "ae"])
    flagged = pd.DataFrame({"mnist": [False, False], "nsl_kdd": [False, True]}, index=["a3", "ae"])
    return tables.GroupTable("auc", "p_contamination=0.01, n_train_anomalies=0", "a3", mean, std, short, flagged,
                             mean.mean(axis=1), p=pd.Series({"a3": np.nan, "ae": 0.0312}),
                             p_holm=pd.Series({"a3": np.nan, "ae": 0.0312}),
                             p_note=pd.Series({"a3": None, "ae": None}))


def test_latex_cells_in_the_seeds_style():
    text = tables.to_latex([_one_table()])
    assert r"\textbf{\boldmath$.93 \scriptscriptstyle \pm .01$}" in text
    assert r"$.80$\textsuperscript{\dag}" in text  # n=1: no std; fewer seeds than expected
    assert r"nsl\_kdd" in text and r"\begin{tabular}{lcccc}" in text
    assert " & .03 \\\\" in text  # the p-value, "0." written "."
    assert tables.drop_leading_zero("10.05 and 0.5") == "10.05 and .5"


def test_no_std_and_transpose():
    md = tables.to_markdown([_one_table()], std=False)
    assert "±" not in md and "| a3 | **0.93** | 0.50 | **0.72** | - |" in md
    assert "| ae | 0.80† | **0.60**‡ | 0.70 | 0.03 |" in md  # † missing seeds, ‡ a degenerate seed
    flipped = tables.to_markdown([_one_table()], transpose=True)
    assert "| dataset | a3 | ae |" in flipped and "| p | - | 0.03 |" in flipped
    frame = pd.read_csv(io.StringIO(tables.to_csv([_one_table()], transpose=True)))
    assert list(frame["dataset"]) == ["mnist", "nsl_kdd", "mean", "p", "p_holm"]
    assert frame.loc[0, "a3"] == pytest.approx(0.931) and frame.loc[0, "a3 std"] == pytest.approx(0.012)


def test_a_p_value_that_cannot_be_significant_is_not_shown_as_one():
    table = _one_table()
    table.p_note = pd.Series({"a3": None, "ae": "n=2 too small"})
    assert "| ae | 0.80 ± -" not in tables.to_markdown([table])
    assert "n=2 too small |" in tables.to_markdown([table])
