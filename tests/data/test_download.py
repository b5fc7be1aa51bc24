"""``adray download`` against a local HTTP server on 127.0.0.1 serving small files in the real formats.

The server (a thread, free port) stands in for the datasets' sites through ``ADRAY_DOWNLOAD_MIRROR``;
it honours Range requests (or not, when told) and can close the connection after N bytes. Where a
test needs a download to pass verification, the dataset's pinned hashes are replaced by those of the
fixture files; the mismatch tests keep the real pins.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import shutil
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np
import pytest

from adray.cli import main
from adray.data import catalog, remote
from adray.data.download import DownloadError, SignInRequiredError, UnpinnedFileError, download, read_sums, resolve
from adray.errors import UnknownNameError


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        site = self.server
        site.requests.append((self.path, self.headers.get("Range")))
        path = site.root / unquote(urlsplit(self.path).path.lstrip("/"))
        if not path.is_file():
            self.send_error(404)
            return
        data, start = path.read_bytes(), 0
        wanted = self.headers.get("Range")
        if wanted and site.ranges:
            start = int(wanted.removeprefix("bytes=").split("-")[0])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        cut = site.cuts.pop(path.name, None)
        self.wfile.write(body if cut is None else body[:cut])  # then HTTP/1.0 closes the connection

    def log_message(self, *args):
        pass


@pytest.fixture
def site(tmp_path, monkeypatch):
    root = tmp_path / "site"
    root.mkdir()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.root, httpd.requests, httpd.cuts, httpd.ranges = root, [], {}, True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("ADRAY_DOWNLOAD_MIRROR", f"http://127.0.0.1:{httpd.server_address[1]}/")
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def put(site, rel: str, data: bytes) -> str:
    path = site.root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def pin(monkeypatch, name: str, hashes: dict[str, str]) -> None:
    """Replace a dataset's pinned hashes with those of the fixture files (the mechanism stays real)."""
    dataset = remote.DATASETS[name]
    files = tuple(dataclasses.replace(f, sha256=hashes[f.name]) for f in dataset.files)
    monkeypatch.setitem(remote.DATASETS, name, dataclasses.replace(dataset, files=files))


def staged(data_dir: Path) -> list[str]:
    """Files under data/.downloads/ other than lock files: partial or unverified downloads."""
    folder = data_dir / ".downloads"
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and p.suffix != ".lock")


# ---- fixture files in the real formats -----------------------------------------------------------
def idx_gz(array: np.ndarray) -> bytes:
    header = (0x00000800 | array.ndim).to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes())


def mnist_site(site) -> dict[str, str]:
    rng = np.random.default_rng(0)
    hashes = {}
    for prefix, n in (("train", 40), ("t10k", 10)):  # train images: 31 kB, enough to cut mid-file
        hashes[f"{prefix}-images-idx3-ubyte.gz"] = put(
            site, f"mnist/{prefix}-images-idx3-ubyte.gz", idx_gz(rng.integers(0, 256, (n, 28, 28))))
        hashes[f"{prefix}-labels-idx1-ubyte.gz"] = put(
            site, f"mnist/{prefix}-labels-idx1-ubyte.gz", idx_gz(np.arange(n) % 10))
    return hashes


def dsads_zip(members=("a01/p1/s01.txt", "a01/p2/s01.txt", "a05/p1/s01.txt", "a05/p1/s02.txt"),
              prefix="data/", seed=0) -> bytes:
    rng = np.random.default_rng(seed)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for member in members:
            rows = rng.normal(size=(125, 45)).round(4)
            archive.writestr(prefix + member, "\n".join(",".join(f"{v:.4f}" for v in row) for row in rows) + "\n")
    return buffer.getvalue()


def npz_bytes(n: int = 30) -> bytes:
    buffer = io.BytesIO()
    rng = np.random.default_rng(1)
    np.savez(buffer, X=rng.normal(size=(n, 4)), y=(np.arange(n) % 10 == 0).astype(int))
    return buffer.getvalue()


# ---- tests --------------------------------------------------------------------------------------
def test_pinned_files_are_verified_and_land_where_prepare_reads_them(site, monkeypatch, isolated_data_dir, capsys):
    pin(monkeypatch, "mnist", mnist_site(site))
    assert main(["download", "mnist"]) == 0
    folder = isolated_data_dir / "mnist"
    assert sorted(p.name for p in folder.iterdir()) == sorted(remote.DATASETS["mnist"].files[i].name for i in range(4))
    assert staged(isolated_data_dir) == []  # nothing left behind but lock files
    assert "next: adray prepare mnist" in capsys.readouterr().out
    assert main(["prepare", "mnist"]) == 0
    assert "rows 50, shape (28, 28)" in capsys.readouterr().out
    served = len(site.requests)
    assert main(["download", "mnist"]) == 0  # present and verified: no request at all
    assert len(site.requests) == served and "already downloaded" in capsys.readouterr().out


def test_hash_mismatch_leaves_no_file_and_says_so(site, isolated_data_dir):
    put(site, "covtype/covtype.data.gz", gzip.compress(b"2596,51,3\n"))  # not UCI's file: sklearn's pin fails
    with pytest.raises(DownloadError) as info:
        download("covtype")
    message = str(info.value)
    for phrase in ("SHA-256", "614360d0257557dd1792834a85a1cdebfadc3c4f30b011d56afee7ffb5b15771", "scikit-learn",
                   "deleted", "nothing was written"):
        assert phrase in message, message
    assert not (isolated_data_dir / "covtype").exists() and staged(isolated_data_dir) == []


def test_cut_connection_leaves_nothing_half_written_and_the_rerun_resumes(site, monkeypatch, isolated_data_dir,
                                                                         capsys):
    hashes = mnist_site(site)
    pin(monkeypatch, "mnist", hashes)
    name = "train-images-idx3-ubyte.gz"
    size = (site.root / "mnist" / name).stat().st_size
    site.cuts[name] = 10_000
    with pytest.raises(DownloadError) as info:
        download("mnist")
    message = str(info.value)
    assert not (isolated_data_dir / "mnist" / name).exists()  # nothing half-written where prepare looks
    assert staged(isolated_data_dir) == [f"mnist/{name}.part"]
    kept = (isolated_data_dir / ".downloads" / "mnist" / f"{name}.part").stat().st_size
    assert 0 < kept <= 10_000  # at most the chunk being read when the connection broke is lost
    for phrase in ("connection broke", f"{kept:,} bytes", "resumes", "nothing was written"):
        assert phrase in message, message
    capsys.readouterr()
    download("mnist", progressbar=True)
    assert (f"/mnist/{name}", f"bytes={kept}-") in site.requests  # asked only for the rest
    out, err = capsys.readouterr()
    assert f"resuming after {kept:,} bytes" in out and f"{name}:" in err  # the progress bar (tqdm, stderr)
    data = (isolated_data_dir / "mnist" / name).read_bytes()
    assert len(data) == size and hashlib.sha256(data).hexdigest() == hashes[name]
    assert staged(isolated_data_dir) == []


def test_resume_starts_over_when_the_server_ignores_ranges(site, monkeypatch, isolated_data_dir):
    hashes = mnist_site(site)
    pin(monkeypatch, "mnist", hashes)
    name = "train-images-idx3-ubyte.gz"
    site.cuts[name], site.ranges = 20_000, False
    with pytest.raises(DownloadError):
        download("mnist")
    assert (isolated_data_dir / ".downloads" / "mnist" / f"{name}.part").stat().st_size > 0
    download("mnist")  # the server answers 200 with the whole file: the .part is rewritten, not appended
    assert any(path.endswith(name) and wanted for path, wanted in site.requests)
    assert hashlib.sha256((isolated_data_dir / "mnist" / name).read_bytes()).hexdigest() == hashes[name]


def test_a_part_file_longer_than_the_file_is_discarded(site, monkeypatch, isolated_data_dir):
    hashes = mnist_site(site)
    pin(monkeypatch, "mnist", hashes)
    name = "t10k-labels-idx1-ubyte.gz"
    part = isolated_data_dir / ".downloads" / "mnist" / f"{name}.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(b"x" * 100_000)  # not a prefix of the file: the server answers 416
    download("mnist")
    assert hashlib.sha256((isolated_data_dir / "mnist" / name).read_bytes()).hexdigest() == hashes[name]
    assert staged(isolated_data_dir) == []


def test_unpinned_archive_needs_trust_then_is_checked_against_the_recorded_hash(site, isolated_data_dir, capsys):
    digest = put(site, "dsads/data.zip", dsads_zip())
    with pytest.raises(UnpinnedFileError) as info:
        download("dsads")
    assert "data.zip" in str(info.value) and "--trust-first-download" in str(info.value)
    assert site.requests == [] and not (isolated_data_dir / "dsads").exists()  # refused before any request

    assert main(["download", "dsads", "--trust-first-download"]) == 0
    folder = isolated_data_dir / "dsads"
    files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*.txt"))
    assert files == ["a01/p1/s01.txt", "a01/p2/s01.txt", "a05/p1/s01.txt", "a05/p1/s02.txt"]  # "data/" removed
    assert read_sums(folder) == {"data.zip": digest}
    assert staged(isolated_data_dir) == []  # archive and unpacked copy removed
    assert main(["prepare", "dsads"]) == 0
    assert "rows 4, shape (125, 45)" in capsys.readouterr().out

    for path in folder.glob("a*"):  # the files are gone and the server's archive changed
        shutil.rmtree(path)
    put(site, "dsads/data.zip", dsads_zip(seed=1))
    with pytest.raises(DownloadError) as info:
        download("dsads")  # no flag needed: the recorded hash pins it now
    assert "SHA256SUMS" in str(info.value) and digest in str(info.value)
    assert not list(folder.glob("a*")) and staged(isolated_data_dir) == []


def test_only_the_named_members_of_a_large_archive_are_extracted(site, monkeypatch, isolated_data_dir, capsys):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:  # EMNIST's gzip.zip holds every split; adray wants letters
        for split in ("letters", "digits"):
            for part, n in (("train", 6), ("test", 3)):
                archive.writestr(f"gzip/emnist-{split}-{part}-images-idx3-ubyte.gz", idx_gz(np.zeros((n, 28, 28))))
                archive.writestr(f"gzip/emnist-{split}-{part}-labels-idx1-ubyte.gz", idx_gz(np.arange(1, n + 1)))
    pin(monkeypatch, "emnist", {"gzip.zip": put(site, "emnist/gzip.zip", buffer.getvalue())})
    assert main(["download", "emnist"]) == 0
    assert sorted(p.name for p in (isolated_data_dir / "emnist").iterdir()) == [
        f"emnist-letters-{part}-ubyte.gz" for part in
        ("test-images-idx3", "test-labels-idx1", "train-images-idx3", "train-labels-idx1")]
    assert staged(isolated_data_dir) == []
    assert main(["prepare", "emnist"]) == 0 and "rows 9, shape (28, 28)" in capsys.readouterr().out


def test_archive_without_the_expected_members_writes_nothing(site, isolated_data_dir):
    put(site, "dsads/data.zip", dsads_zip(members=("readme/notes.txt",)))
    with pytest.raises(DownloadError) as info:
        download("dsads", trust_first_download=True)
    assert "holds no file matching a*/p*/s*.txt" in str(info.value)
    assert not list((isolated_data_dir / "dsads").rglob("*.txt")) and staged(isolated_data_dir) == []
    assert read_sums(isolated_data_dir / "dsads") == {}  # an unusable archive's hash is not trusted


def test_a_file_that_is_not_a_zip_is_deleted_and_not_trusted(site, isolated_data_dir):
    put(site, "dsads/data.zip", b"<html>please sign in</html>")  # what a site answers instead of the file
    with pytest.raises(DownloadError) as info:
        download("dsads", trust_first_download=True)
    assert "cannot be unpacked" in str(info.value) and "deleted" in str(info.value)
    assert read_sums(isolated_data_dir / "dsads") == {} and staged(isolated_data_dir) == []


def test_adbench_file_by_name_lands_in_data_odds(site, monkeypatch, isolated_data_dir, capsys):
    digest = put(site, "odds/6_cardio.npz", npz_bytes())
    pin(monkeypatch, "adbench:cardio", {"6_cardio.npz": digest})
    assert resolve("adbench:6_Cardio").name == resolve("adbench:CARDIO").name == "adbench:cardio"
    assert main(["download", "adbench:cardio"]) == 0
    assert "next: adray prepare odds:6_cardio" in capsys.readouterr().out
    assert main(["prepare", "odds:6_cardio"]) == 0
    assert "rows 30, shape (4,)" in capsys.readouterr().out


def test_a_modified_copy_is_replaced_by_the_verified_file(site, monkeypatch, isolated_data_dir, capsys):
    hashes = mnist_site(site)
    pin(monkeypatch, "mnist", hashes)
    download("mnist")
    path = isolated_data_dir / "mnist" / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(b"edited")
    served = len(site.requests)
    download("mnist")
    assert len(site.requests) == served + 1 and "does not have the expected SHA-256" in capsys.readouterr().out
    assert hashlib.sha256(path.read_bytes()).hexdigest() == hashes[path.name]


@pytest.mark.parametrize("name, files", [
    ("creditcard", ["kaggle.com/datasets/mlg-ulb/creditcardfraud", "creditcard.csv"]),
    ("ids2018", ["unb.ca/cic/datasets/ids-2018.html", "_TrafficForML_CICFlowMeter.csv", "aws s3 sync"]),
    ("darknet", ["unb.ca/cic/datasets/darknet2020.html", "Darknet.CSV"]),
    ("doh", ["unb.ca/cic/datasets/dohbrw-2020.html", "l2-benign.csv", "l2-malicious.csv"]),
    ("url", ["unb.ca/cic/datasets/url-2016.html", "All.csv"]),
])
def test_sign_in_sites_say_what_to_fetch_by_hand(name, files, isolated_data_dir):
    with pytest.raises(SignInRequiredError) as info:
        download(name)
    message = str(info.value)
    folder = isolated_data_dir / catalog.SPECS[name].raw_dir_name
    for phrase in (*files, str(folder), "needs a sign-in or a form", f"adray prepare {name}"):
        assert phrase in message, message


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(UnknownNameError) as info:
        download("mnsit")
    message = str(info.value)
    for phrase in ("'mnsit'", "mnist", "fashion_mnist", "dsads", "odds:NAME", "cardio", "adbench:NAME", "creditcard"):
        assert phrase in message, message


def test_embedded_datasets_need_no_download(capsys):
    assert download("digits") == [] and "nothing to download" in capsys.readouterr().out


def test_registry_covers_the_catalogue_and_every_hash_is_pinned_or_marked():
    for name, spec in catalog.SPECS.items():
        assert spec.embedded or name in remote.DATASETS or name in remote.SIGN_IN, name
    for dataset in remote.DATASETS.values():
        names = [f.name for f in dataset.files]
        assert len(names) == len(set(names)), dataset.name
        for f in dataset.files:
            if f.sha256 is None:
                assert f.source == remote.UNPINNED, f.name
            else:
                assert len(f.sha256) == 64 and int(f.sha256, 16) >= 0 and f.source != remote.UNPINNED, f.name
        spec = catalog.SPECS.get(dataset.name)
        if spec is None:
            assert dataset.folder == "odds" and all(n.endswith((".mat", ".npz")) for n in names), dataset.name
            continue
        # what the download leaves in data/<folder>/ satisfies every pattern the reader looks for
        produced = [f.name for f in dataset.files if not f.keep] + [k for f in dataset.files for k in f.keep]
        assert dataset.folder == spec.raw_dir_name
        for pattern in spec.files:
            alternatives = pattern.split("|")
            assert any(p in alternatives or any(Path(p).match(a) for a in alternatives) for p in produced), pattern
