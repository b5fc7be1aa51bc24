"""Bad input to ``adray download``: each case exits 2 with one line saying what happened and what to do,
and leaves nothing in ``data/<folder>/``. Downloads go to a local server on 127.0.0.1 through
``ADRAY_DOWNLOAD_MIRROR``; the registry's real pins are used."""

import functools
import gzip
import os
import socket
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest


class _Handler(SimpleHTTPRequestHandler):
    cut = None  # close the connection after this many bytes of the body

    def copyfile(self, source, outputfile):
        outputfile.write(source.read() if self.cut is None else source.read(self.cut))

    def log_message(self, *args):
        pass


@pytest.fixture
def site(tmp_path):
    root = tmp_path / "site"
    (root / "covtype").mkdir(parents=True)
    handler = type("Handler", (_Handler,), {})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(root)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    httpd.root, httpd.handler = root, handler
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}/"
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def adray_download(*args, data_dir, mirror=None):
    env = {**os.environ, "ADRAY_DATA": str(data_dir), "RAY_USAGE_STATS_ENABLED": "0"}
    if mirror:
        env["ADRAY_DOWNLOAD_MIRROR"] = mirror
    return subprocess.run([sys.executable, "-m", "adray.cli", "download", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def assert_clean_failure(result, *phrases):
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith("adray: error: "), message
    for phrase in phrases:
        assert phrase in message, f"{phrase!r} not in {message!r}"


def nothing_in(folder):
    return not folder.exists() or not any(folder.iterdir())


def test_unknown_name(tmp_path):
    assert_clean_failure(adray_download("mnsit", data_dir=tmp_path), "cannot download 'mnsit'", "mnist", "dsads")


@pytest.mark.parametrize("name, phrase", [("creditcard", "kaggle.com"), ("darknet", "Darknet.CSV")])
def test_sign_in_dataset(tmp_path, name, phrase):
    assert_clean_failure(adray_download(name, data_dir=tmp_path), phrase, str(tmp_path / name),
                         "needs a sign-in or a form", f"adray prepare {name}")


def test_unpinned_file_without_trust_flag(tmp_path, site):
    result = adray_download("census", data_dir=tmp_path, mirror=site.url)
    assert_clean_failure(result, "census-income.data.gz", "no published SHA-256", "--trust-first-download")
    assert nothing_in(tmp_path / "census")


def test_hash_mismatch(tmp_path, site):
    (site.root / "covtype" / "covtype.data.gz").write_bytes(gzip.compress(b"not the forest cover file\n"))
    result = adray_download("covtype", data_dir=tmp_path, mirror=site.url)
    assert_clean_failure(result, "covtype.data.gz", "SHA-256", "614360d0", "nothing was written")
    assert nothing_in(tmp_path / "covtype")


def test_cut_connection(tmp_path, site):
    (site.root / "covtype" / "covtype.data.gz").write_bytes(os.urandom(50_000))
    site.handler.cut = 30_000
    result = adray_download("covtype", data_dir=tmp_path, mirror=site.url)
    assert_clean_failure(result, "connection broke", "resumes", "nothing was written")
    assert nothing_in(tmp_path / "covtype")


def test_missing_file_on_the_server(tmp_path, site):
    result = adray_download("covtype", data_dir=tmp_path, mirror=site.url)
    assert_clean_failure(result, "answered 404", "by hand")
    assert nothing_in(tmp_path / "covtype")


def test_unreachable_server(tmp_path):
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = adray_download("covtype", data_dir=tmp_path, mirror=f"http://127.0.0.1:{port}/")
    assert_clean_failure(result, f"could not connect to 127.0.0.1:{port}", "run the same command again")
    assert nothing_in(tmp_path / "covtype")
