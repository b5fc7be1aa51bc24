"""Where each downloadable dataset lives on the web, and the SHA-256 pinned for every file.

``adray download NAME`` reads this table; :mod:`adray.data.download` does the fetching. A pinned
hash is copied from a source that publishes it (each entry names its source), or computed from the
published bytes themselves (ADBench's git repository). A file with no such hash has ``sha256=None``:
adray then refuses to download it unless the user passes ``--trust-first-download``, which records
the hash of what arrived in ``data/<folder>/SHA256SUMS`` and checks every later download against it.

Datasets whose site needs a sign-in or a form (Kaggle, the CIC pages) are in ``SIGN_IN``: for those
adray prints what to fetch by hand and where to put it.
"""

from __future__ import annotations

from dataclasses import dataclass

# ---- sources of the pinned hashes -----------------------------------------------------------------
SKLEARN_COVTYPE = "scikit-learn's fetch_covtype (sklearn/datasets/_covtype.py, ARCHIVE)"
TFDS = "TensorFlow Datasets' url_checksums/{}.txt"
ADBENCH_COMMIT = "f7fed68dea6901fe9a81ed51b251b1d2456790cd"  # last change of Classical/ (2023-07-17)
ADBENCH_SOURCE = f"the file's bytes in github.com/Minqi824/ADBench at commit {ADBENCH_COMMIT[:7]}"
UNPINNED = "no published SHA-256 found"


@dataclass(frozen=True)
class RemoteFile:
    """One file to fetch. ``keep`` is empty for a file stored as it is; for a zip archive it lists
    the patterns (matched against the last path parts of each member) of the files to extract."""

    name: str  # the downloaded file's name (what the hash covers)
    url: str
    sha256: str | None  # None: unpinned (see the module docstring)
    source: str  # where the hash comes from
    keep: tuple[str, ...] = ()  # zip archives: which members go into data/<folder>/
    members: tuple[str, ...] = ()  # zip archives: extract only these (exact paths); () = all

    @property
    def is_archive(self) -> bool:
        return bool(self.keep)


@dataclass(frozen=True)
class RemoteDataset:
    name: str  # what the user types: adray download NAME
    folder: str  # files land in data/<folder>/
    files: tuple[RemoteFile, ...]
    prepare_as: tuple[str, ...]  # the dataset name(s) `adray prepare` then takes


def _single(name: str, folder: str, *files: RemoteFile) -> RemoteDataset:
    return RemoteDataset(name, folder, files, (name,))


# ---- images: MNIST, Fashion-MNIST, EMNIST letters -------------------------------------------------
_MNIST_URL = "https://storage.googleapis.com/cvdf-datasets/mnist/"
_MNIST = {  # SHA-256 from TensorFlow Datasets' url_checksums/mnist.txt (same bytes as yann.lecun.com)
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
_FASHION_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
_FASHION = {  # SHA-256 from TensorFlow Datasets' url_checksums/fashion_mnist.txt
    "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
}
_EMNIST_MEMBERS = tuple(f"gzip/emnist-letters-{part}-ubyte.gz" for part in (
    "train-images-idx3", "train-labels-idx1", "test-images-idx3", "test-labels-idx1"))

# ---- ODDS (.mat, Stony Brook; the download links of odds.cs.stonybrook.edu) -------------------------
# No source publishes their hashes: every one is unpinned. http.mat and smtp.mat are MATLAB v7.3 files
# that scipy cannot read, so they are left out (ADBench's 16_http.npz / 34_smtp.npz hold the same data).
_ODDS_DROPBOX = {
    "annthyroid": "aifk51owxbogwav", "arrhythmia": "lmlwuspn1sey48r", "breastw": "g3hlnucj71kfvq4",
    "cardio": "galg3ihvxklf0qi", "cover": "awx8iuzbu8dkxf1", "glass": "iq3hjxw77gpbl7u",
    "ionosphere": "lpn4z73fico4uup", "letter": "rt9i95h9jywrtiy", "lympho": "ag469ssk0lmctco",
    "mammography": "tq2v4hhwyv17hlk", "mnist": "n3wurjt8v9qi6nc", "musk": "we6aqhb0m38i60t",
    "optdigits": "w52ndgz5k75s514", "pendigits": "1x8rzb4a0lia6t1", "pima": "mvlwu7p0nyk2a2r",
    "satellite": "dpzxp8jyr9h93k5", "satimage-2": "hckgvu9m6fs441p", "shuttle": "mk8ozgisimfn3dw",
    "speech": "w6xv51ctea6uauc", "thyroid": "bih0e15a0fukftb", "vertebral": "5kuqb387sgvwmrb",
    "vowels": "pa26odoq6atq9vx", "wbc": "ebz9v9kdnvykzcb", "wine": "uvjaudt2uto7zal",
}  # fmt: skip


def _odds_file(stem: str) -> RemoteFile:
    url = f"https://www.dropbox.com/s/{_ODDS_DROPBOX[stem]}/{stem}.mat?dl=1"
    return RemoteFile(f"{stem}.mat", url, None, UNPINNED)


# ---- ADBench's classical collection (.npz, arrays X and y) ----------------------------------------
# SHA-256 of each file as committed in ADBench's repository at ADBENCH_COMMIT; check one with
#   git cat-file blob f7fed68dea6901fe9a81ed51b251b1d2456790cd:adbench/datasets/Classical/6_cardio.npz | sha256sum
# None: files of 4 MiB and more, which the copy of the repository these were computed from lacked.
_ADBENCH = {
    "1_ALOI": "792d0b5bd1147bfc9574a1974f157b39fbd4cbed8ecd04cf983fd554498ed477",
    "2_annthyroid": "e738f7c58a8740d2c4aac4c71ff49ce5e1d1aa16f44178135fc9c09df05fad1b",
    "3_backdoor": None,
    "4_breastw": "4f37ce07dbc25ddad8178fdc6d664ab46d2d0000ee28c2787c3c7ff3c03ef9f6",
    "5_campaign": "74dd4d0072d6c6f1aabab63bc102f9633454f32bb936fa9bcfbd38f9f2386bcd",
    "6_cardio": "bc5009bde6930b4d298b594f31b34485a9a17210cff0e8fb00a8c3068b885a2d",
    "7_Cardiotocography": "5ae84910430f05923e11b6f537243263977c9136949dabd891e3570aeec51e29",
    "8_celeba": "1cadfdea14cd8d240eca715a70c09c88af8621d086a7478c63f602d97adef0b5",
    "9_census": None,
    "10_cover": "945a097c3542ae81a551bf1c06dcad78a755d94f84fcaf1d60687e42d1a656df",
    "11_donors": "5824ec854465f2763b4bfe3da1ae9f25ed5433b5c6e265d42e37da4f82a58679",
    "12_fault": "ec27301f9a4cf7c5d8b22c360cf37ddb043b7fb062465723dfd8b34e2771e5dd",
    "13_fraud": None,
    "14_glass": "aa7a8db1d475ba01a10488af454bc15220a3d5951b010b03b7020567d8152cdc",
    "15_Hepatitis": "4a87a2f7d8013e5bfde63294fae61ec7a612322de72f338a7f9491749025ad98",
    "16_http": "9d98710091551587f4740cfc851a6b064fff6319a337c2dc77ee6da4bcc2e02c",
    "17_InternetAds": "bdd8ad5cf5bf2cb96cba53dde30d522d0f6a279083a8e2bc7efbac5981b04385",
    "18_Ionosphere": "bca46cb0cfd1bf9ddef6cde5ad2215d54fb0189508d0d4c4eb98e788cad69001",
    "19_landsat": "ba17e2158c07469597b89db49d3982c874c6b713ff6670721ddc88969da77987",
    "20_letter": "f986d3da80cf1fa2aea83a5ebe73b7d4800e0d4c01fdd1ae074b58d20f10d039",
    "21_Lymphography": "dad977b04f4ea65b78ccd0e9f76b45175bad605165b37e63f3cc177845e67037",
    "22_magic.gamma": "0be375984d7af9ea7a63b12206c240840d8b7daa3607021c5fb8756407dd86f1",
    "23_mammography": "a0308ac9712d78321073b1c2dc98dc37665c0f35c1cc33019416fe8f8d7de7ea",
    "24_mnist": "be7706272325fdd3592c1be555ae1a82f916a2f8545f4f8cbaa548ab102cc44c",
    "25_musk": "2ed3f4392197b76a1e59116ff880c7720a4b026cf4842073a53b56fdea265017",
    "26_optdigits": "60de17a375a278ba220a7849727d998aa02b5e2f9fd17732a004bba28de4656e",
    "27_PageBlocks": "10a9b4d5bb5d3b9083caab4c4062f665610eada703c3d927bf7c34b1f2d0d223",
    "28_pendigits": "c4936b89dcdad59d303020e492f763a0f54170080d787c77497609acbb9c2d79",
    "29_Pima": "215454bb263a2f040945c9ea7bd7f06f1e89a61a3143bdb6f196e3887e801a7d",
    "30_satellite": "1f048f5686f1b8c16a227fdfa3c81a62cd9a92715714a6b24c69b1c5ad96b46e",
    "31_satimage-2": "1b056e357f801b8b20c3f380a30224a3c4088d7ed764ec5a24828dc9b1918d6f",
    "32_shuttle": "26900b0f6be45d9ddb7a402c9b2f956ceda42d23a8ca4cf4406b8bc1352823d1",
    "33_skin": "d02aa01ffc1b6bf2b8b1ac250c90e8a8eacd0cefc962940ed5cc4bf5deac9c95",
    "34_smtp": "d2569fc9bc12115419e3f5b37d19921e10e6c26e5ad1e61064cfb0fbc402dfdd",
    "35_SpamBase": "d0c46c7928e43f6496bcd06e09de0b70f6bc8143792dfa0a43f450263d254e9b",
    "36_speech": None,
    "37_Stamps": "99fe739447284f613fa54bf2dccdb51c5120175ce6260adec6dad77576c42509",
    "38_thyroid": "8de161b3f235b7647bb0b39a836d983ff61d67bf234edac461da2d71e889cb87",
    "39_vertebral": "0816286f92b96fe6867664a41a031ac7228dcfbf1a5feefe50ca3883b2e9073d",
    "40_vowels": "4bfc4244d1c882773bbbc50d4a5db5e52276e53506e46b2d45e02d074cfcb1b6",
    "41_Waveform": "6c9d867337ad1a2f8372c1d27f4c032f0401237e2041b7c45f00de8d319ff30f",
    "42_WBC": "650f9dcb129248f67a291be0974f533ef259fcbde50fce5c8ad2a1cb2652d03b",
    "43_WDBC": "78d4606a1ab516f5b60b00c196497f3bbd6bd5e4548fd04cf5f2475209b34b85",
    "44_Wilt": "c70b72aa611ec87b20efb400943ef3ce4f8bf7aa58fcef825fbd28cc5cee3cc9",
    "45_wine": "d5ad8965d92cc57122fe1e6572bb301adbaf795b3e166d187ae00a704d8f6e20",
    "46_WPBC": "68a6d67242643855713bcdad07d89ecc472bd00000dccc17ba87916eb2693d19",
    "47_yeast": "bbb15c873d78a4f6a589f46d0f75814595e2282d2ae7ce7779c750f276c3770d",
}


def _adbench_file(stem: str) -> RemoteFile:
    url = f"https://github.com/Minqi824/ADBench/raw/{ADBENCH_COMMIT}/adbench/datasets/Classical/{stem}.npz"
    sha256 = _ADBENCH[stem]
    return RemoteFile(f"{stem}.npz", url, sha256, ADBENCH_SOURCE if sha256 else UNPINNED)


def adbench_short_name(stem: str) -> str:
    """``6_cardio`` -> ``cardio``: the name without ADBench's number, as users say it."""
    return stem.split("_", 1)[1].lower()


# ---- every downloadable dataset --------------------------------------------------------------------
_UCI = "https://archive.ics.uci.edu/ml/machine-learning-databases/"

DATASETS: dict[str, RemoteDataset] = {d.name: d for d in [
    _single("mnist", "mnist", *(
        RemoteFile(name, _MNIST_URL + name, sha, TFDS.format("mnist")) for name, sha in _MNIST.items())),
    _single("fashion_mnist", "fashion_mnist", *(
        RemoteFile(name, _FASHION_URL + name, sha, TFDS.format("fashion_mnist")) for name, sha in _FASHION.items())),
    _single("emnist", "emnist", RemoteFile(
        # 562 MB archive of every EMNIST split; only the four letters files are extracted
        "gzip.zip", "https://www.itl.nist.gov/iaui/vip/cs_links/EMNIST/gzip.zip",
        "fb9bb67e33772a9cc0b895e4ecf36d2cf35be8b709693c3564cea2a019fcda8e", TFDS.format("emnist"),
        keep=tuple(m.split("/")[-1] for m in _EMNIST_MEMBERS), members=_EMNIST_MEMBERS)),
    _single("covtype", "covtype", RemoteFile(
        "covtype.data.gz", "https://ndownloader.figshare.com/files/5976039",  # scikit-learn's copy of UCI's file
        "614360d0257557dd1792834a85a1cdebfadc3c4f30b011d56afee7ffb5b15771", SKLEARN_COVTYPE)),
    _single("census", "census", *(
        RemoteFile(name, _UCI + "census-income-mld/" + name, None, UNPINNED)
        for name in ("census-income.data.gz", "census-income.test.gz"))),
    _single("dsads", "dsads", RemoteFile(
        "data.zip", _UCI + "00256/data.zip", None, UNPINNED, keep=("a*/p*/s*.txt",))),
    _single("nsl_kdd", "nsl_kdd", RemoteFile(
        # the publisher's (CIC, University of New Brunswick) archive of every NSL-KDD file
        "NSL-KDD.zip", "http://205.174.165.80/CICDataset/NSL-KDD/Dataset/NSL-KDD.zip", None, UNPINNED,
        keep=("KDDTrain+.txt", "KDDTest+.txt"))),
    _single("mammography", "mammography", _odds_file("mammography")),
    RemoteDataset("odds", "odds", tuple(_odds_file(stem) for stem in _ODDS_DROPBOX),
                  tuple(f"odds:{stem}" for stem in _ODDS_DROPBOX)),
    *(RemoteDataset(f"odds:{stem}", "odds", (_odds_file(stem),), (f"odds:{stem}",)) for stem in _ODDS_DROPBOX),
    RemoteDataset("adbench", "odds", tuple(_adbench_file(stem) for stem in _ADBENCH),
                  tuple(f"odds:{stem}" for stem in _ADBENCH)),
    *(RemoteDataset(f"adbench:{adbench_short_name(stem)}", "odds", (_adbench_file(stem),), (f"odds:{stem}",))
      for stem in _ADBENCH),
]}  # fmt: skip

# ---- sites that need a sign-in or a form: what to do by hand ---------------------------------------
SIGN_IN = {
    "creditcard": "open https://www.kaggle.com/datasets/mlg-ulb/creditcardfraud, sign in, download the "
                  "archive and unzip creditcard.csv into {folder}/ (with a Kaggle API token: "
                  "`kaggle datasets download -d mlg-ulb/creditcardfraud --unzip -p {folder}`)",
    "ids2018": "the page is https://www.unb.ca/cic/datasets/ids-2018.html, but the files themselves are in a "
               "public AWS bucket: `aws s3 sync --no-sign-request --region eu-central-1 "
               "\"s3://cse-cic-ids2018/Processed Traffic Data for ML Algorithms/\" {folder}/` puts every "
               "*_TrafficForML_CICFlowMeter.csv into {folder}/",
    "darknet": "fill in the form on https://www.unb.ca/cic/datasets/darknet2020.html, download the archive "
               "and put Darknet.CSV into {folder}/",
    "doh": "fill in the form on https://www.unb.ca/cic/datasets/dohbrw-2020.html, download the archive and put "
           "l2-benign.csv and l2-malicious.csv into {folder}/",
    "url": "fill in the form on https://www.unb.ca/cic/datasets/url-2016.html, download ISCXURL2016 and put "
           "All.csv into {folder}/",
}
