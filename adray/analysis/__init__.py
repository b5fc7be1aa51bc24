"""Analysis of a sweep folder: trial files -> runs table -> selection on validation -> seed merge ->
Wilcoxon/Holm/Friedman -> Markdown/LaTeX/CSV tables and PNG plots under ``results/<sweep>/report/``.

Reads files only: no Ray, no torch (a test checks that importing this package loads neither).
Plotting (matplotlib) is imported only when a report draws its plots.

    from adray.analysis import make_report
    result = make_report("results/my_sweep", reference="argue", metric="auc")
    print(result.table)
"""

from adray.analysis.collect import collect

__all__ = ["ReportResult", "collect", "make_report"]


def __getattr__(name):
    # make_report pulls in scipy and matplotlib; load them only when asked for
    if name in ("make_report", "ReportResult"):
        from adray.analysis import report

        return getattr(report, name)
    raise AttributeError(f"module 'adray.analysis' has no attribute {name!r}")
