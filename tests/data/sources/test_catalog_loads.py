"""Every catalogued seed dataset loads through ``adray prepare`` from files in its real format.

Files are written into ``data/<folder>/`` under the names the catalogue expects, using the format
fixtures of the reader tests, and the dataset is prepared through the cache. The class names the
readers produce must be the ones the catalogue's seed settings use, or a setting would ask for
classes that never exist.
"""

import numpy as np
import pytest
import scipy.io
from test_source_files import (
    CC_HEADER,
    CENSUS_DATA,
    CENSUS_TEST,
    cc_row,
    cov_line,
    dsads_tree,
    mnist_files,
    upright_letters,
    write_idx,
)
from test_source_files import write as write_lines
from test_source_traffic import (
    DARKNET_HEADER,
    DARKNET_ROWS,
    URL_HEADER,
    URL_ROWS,
    doh_files,
    ids_files,
    kdd_files,
    write,
)

from adray.cli import main
from adray.data import cache, catalog

# classes a reader may produce that no seed setting uses
UNUSED = {"ids2018": {"DDoS", "DoS"}, "dsads": set()}


def _emnist(folder):
    for prefix, n in (("train", 4), ("test", 2)):
        write_idx(folder / f"emnist-letters-{prefix}-images-idx3-ubyte.gz", upright_letters(n))
        write_idx(folder / f"emnist-letters-{prefix}-labels-idx1-ubyte.gz", np.arange(1, n + 1) + 12)


WRITERS = {
    "nsl_kdd": kdd_files,
    "ids2018": ids_files,
    "doh": doh_files,
    "darknet": lambda f: write(f / "Darknet.CSV", [DARKNET_HEADER, *DARKNET_ROWS]),
    "url": lambda f: write(f / "All.csv", [URL_HEADER, *URL_ROWS]),
    "creditcard": lambda f: write_lines(f / "creditcard.csv", [CC_HEADER, cc_row(0, 1.0, 2.0, "0"),
                                                               cc_row(1, -1.0, 9.5, "1")]),
    "covtype": lambda f: write_lines(f / "covtype.data.gz", [cov_line(c) for c in range(1, 8)], gz=True),
    "census": lambda f: (write_lines(f / "census-income.data", CENSUS_DATA),
                         write_lines(f / "census-income.test", CENSUS_TEST)),
    "mammography": lambda f: scipy.io.savemat(f / "mammography.mat", {"X": np.eye(4), "y": np.array([[0], [0], [1], [0]])}),
    "mnist": mnist_files,
    "fashion_mnist": mnist_files,
    "emnist": _emnist,
    "dsads": dsads_tree,
}


def test_every_downloadable_dataset_has_a_real_format_fixture():
    downloadable = {name for name, spec in catalog.SPECS.items() if not spec.embedded}
    assert downloadable == set(WRITERS)


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_dataset_prepares_from_its_raw_files(name, isolated_data_dir, capsys):
    spec = catalog.get_spec(name)
    folder = isolated_data_dir / spec.raw_dir_name
    folder.mkdir(parents=True)
    WRITERS[name](folder)
    assert main(["prepare", name]) == 0
    ds = cache.load(name)
    assert len(ds) > 0 and np.isfinite(ds.X).all()
    known = {c for s in spec.settings.values() for c in (*s.normal, *s.all_anomalous)} | UNUSED.get(name, set())
    if name == "dsads":
        known |= {f"a{i:02d}" for i in range(1, 20)}
    assert set(ds.classes) <= known, f"{name}: reader classes {ds.classes} vs catalogue {sorted(known)}"
    if any(s.experts == "group" for s in spec.settings.values()):
        assert ds.group_codes is not None
    capsys.readouterr()
    assert main(["datasets"]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith(name + " "))
    assert " ready " in line and str(len(ds)) in line
