"""``adray download NAME``: fetch a dataset's files, check their SHA-256, unpack them into ``data/<folder>/``.

pooch does the fetching, hash checking and unzipping. Everything is first written under
``data/.downloads/<folder>/`` and moved into ``data/<folder>/`` only once verified (and unpacked), so
an interrupted or corrupted download never leaves a half-written file where ``adray prepare`` looks.
A cut connection keeps the bytes received in ``data/.downloads/<folder>/<file>.part``; the next run
asks the server for the rest (an HTTP Range request) and checks the hash of the whole file.

``ADRAY_DOWNLOAD_MIRROR=URL`` fetches every file from ``URL/<folder>/<file name>`` instead of its
source (a lab mirror, or a local server in the tests); the pinned hashes still apply.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, urlsplit

from filelock import FileLock

from adray.artifacts import write_text
from adray.data.catalog import SPECS, default_data_dir
from adray.data.remote import DATASETS, SIGN_IN, RemoteDataset, RemoteFile
from adray.errors import AdrayError, UnknownNameError

MIRROR_ENV = "ADRAY_DOWNLOAD_MIRROR"
STAGING_DIRNAME = ".downloads"
SUMS_NAME = "SHA256SUMS"
TIMEOUT_S = 60
CHUNK = 8192


class DownloadError(AdrayError):
    """A download failed or its content is not the file adray pinned."""


class SignInRequiredError(AdrayError):
    """The dataset's site needs a sign-in or a form: the message says what to fetch by hand."""


class UnpinnedFileError(AdrayError):
    """A file has no pinned SHA-256 and the user did not pass --trust-first-download."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class ResumingDownloader:
    """A pooch downloader that keeps what arrived in a ``.part`` file and resumes it with a Range
    request. pooch's own HTTPDownloader starts over every time (it writes to a fresh temporary file).

    On success the ``.part`` file becomes pooch's temporary file, whose hash pooch then checks.
    """

    def __init__(self, part: Path, progressbar: bool | None = None):
        self.part = part
        self.progressbar = progressbar  # None: only on a terminal
        self.sha256: str | None = None  # of the complete file, for the caller's messages
        self.received = 0
        self.expected: int | None = None

    def __call__(self, url: str, output_file: str, pooch, check_only: bool = False) -> None:
        import requests
        from tqdm import tqdm

        have = self.part.stat().st_size if self.part.exists() else 0
        headers = {"Accept-Encoding": "identity"}  # byte offsets and Content-Length of the file itself
        if have:
            headers["Range"] = f"bytes={have}-"
        with requests.get(url, headers=headers, stream=True, timeout=TIMEOUT_S) as response:
            resumed = have > 0 and response.status_code == 206 and _range_start(response) == have
            if have and not resumed and response.status_code in (206, 416):
                response.close()  # a range we cannot use (416: the .part is not a prefix): start over
                self.part.unlink()
                return self(url, output_file, pooch)
            response.raise_for_status()
            if not resumed:
                have = 0
            length = response.headers.get("Content-Length")
            self.expected = have + int(length) if length is not None else None
            self.received = have
            with open(self.part, "ab" if resumed else "wb") as out, tqdm(
                total=self.expected, initial=have, unit="B", unit_scale=True, unit_divisor=1024,
                desc=self.part.name.removesuffix(".part"), disable=None if self.progressbar is None
                else not self.progressbar, leave=False,
            ) as bar:
                # small chunks: a broken connection loses at most the one being read
                for chunk in response.iter_content(chunk_size=CHUNK):
                    out.write(chunk)
                    self.received += len(chunk)
                    bar.update(len(chunk))
        if self.expected is not None and self.received != self.expected:
            raise requests.exceptions.ConnectionError(
                f"the server sent {self.received} of {self.expected} bytes and closed the connection"
            )
        self.sha256 = sha256_of(self.part)
        os.replace(self.part, output_file)


def _range_start(response) -> int | None:
    value = response.headers.get("Content-Range", "")  # "bytes START-END/TOTAL"
    try:
        return int(value.split()[1].split("-")[0])
    except (IndexError, ValueError):
        return None


# ---- names ----------------------------------------------------------------------------------------
def resolve(name: str, data_dir: Path | None = None) -> RemoteDataset:
    """The dataset to fetch, or an AdrayError that says what to do instead."""
    key = name.strip()
    if key in DATASETS:
        return DATASETS[key]
    if key.lower().startswith("adbench:"):  # any case, and ADBench's own file stem (6_cardio) too
        wanted = key.split(":", 1)[1].lower()
        for dataset in DATASETS.values():
            if dataset.name.startswith("adbench:") and wanted in (dataset.name[8:], dataset.files[0].name[:-4].lower()):
                return dataset
    if key in SIGN_IN:
        folder = (data_dir or default_data_dir()) / SPECS[key].raw_dir_name
        raise SignInRequiredError(
            f"adray cannot download {key!r} ({SPECS[key].title}): its site needs a sign-in or a form. "
            + SIGN_IN[key].format(folder=folder) + f"; then run `adray prepare {key}`"
        )
    if key in SPECS and SPECS[key].embedded:
        return RemoteDataset(key, "", (), (key,))
    singles = sorted(n for n in DATASETS if ":" not in n)
    raise UnknownNameError(
        f"adray cannot download {name!r}. Datasets it downloads: {', '.join(singles)}; "
        f"one ODDS file: odds:NAME ({', '.join(n[5:] for n in sorted(DATASETS) if n.startswith('odds:'))}); "
        f"one ADBench file: adbench:NAME ({', '.join(n[8:] for n in sorted(DATASETS) if n.startswith('adbench:'))}); "
        f"by hand (sign-in): {', '.join(sorted(SIGN_IN))}"
    )


# ---- hashes recorded by --trust-first-download ----------------------------------------------------
def read_sums(folder: Path) -> dict[str, str]:
    path = folder / SUMS_NAME
    if not path.exists():
        return {}
    sums = {}
    for line in path.read_text().splitlines():
        digest, _, name = line.strip().partition("  ")
        if digest and name:
            sums[name] = digest
    return sums


def _record_sum(folder: Path, name: str, digest: str) -> None:
    sums = {**read_sums(folder), name: digest}
    write_text(folder / SUMS_NAME, "".join(f"{sums[n]}  {n}\n" for n in sorted(sums)))


# ---- one file -------------------------------------------------------------------------------------
def _url(dataset: RemoteDataset, remote: RemoteFile) -> str:
    mirror = os.environ.get(MIRROR_ENV, "").strip()
    if mirror:
        return f"{mirror.rstrip('/')}/{dataset.folder}/{quote(remote.name)}"
    return remote.url


def _matches(rel: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(rel, pattern)


def _last_parts(path: Path, pattern: str) -> str:
    depth = pattern.count("/") + 1
    return "/".join(path.parts[-depth:]) if len(path.parts) >= depth else ""


def _present(remote: RemoteFile, target: Path, known: str | None) -> bool:
    """Whether the file (or what its archive unpacks to) is already in ``target``."""
    if remote.is_archive:
        files = [p.relative_to(target) for p in target.rglob("*") if p.is_file()] if target.is_dir() else []
        return all(any(_matches(_last_parts(f, pattern), pattern) for f in files) for pattern in remote.keep)
    path = target / remote.name
    return path.is_file() and (known is None or sha256_of(path) == known)


def _unpack(archive: Path, remote: RemoteFile, target: Path, url: str) -> list[Path]:
    """Extract the archive's wanted members beside it, then move them into ``target``."""
    import pooch

    unzip = pooch.Unzip(members=list(remote.members) or None, extract_dir=archive.name + ".unzip")
    extract_dir = archive.with_name(archive.name + ".unzip")
    try:
        extracted = [Path(p) for p in unzip(str(archive), "download", None)]
    except (zipfile.BadZipFile, KeyError, OSError, EOFError) as exc:
        archive.unlink(missing_ok=True)
        shutil.rmtree(extract_dir, ignore_errors=True)
        raise DownloadError(
            f"{remote.name} from {url} cannot be unpacked ({exc}); it was deleted and nothing was written to "
            f"{target}/. Run the command again; if this repeats, the file on the server is not the archive "
            "adray expects"
        ) from None
    moves: dict[str, Path] = {}
    for path in extracted:
        rel = path.relative_to(extract_dir)
        for pattern in remote.keep:
            if _matches(_last_parts(rel, pattern), pattern):
                moves[_last_parts(rel, pattern)] = path
                break
    missing = [p for p in remote.keep if not any(_matches(rel, p) for rel in moves)]
    if missing:
        shutil.rmtree(extract_dir, ignore_errors=True)
        archive.unlink(missing_ok=True)
        raise DownloadError(
            f"{remote.name} from {url} holds no file matching {', '.join(missing)}; nothing was written to "
            f"{target}/. The archive on the server has changed: please report it"
        )
    written = []
    for rel, source in sorted(moves.items()):
        dest = target / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, dest)
        written.append(dest)
    shutil.rmtree(extract_dir, ignore_errors=True)
    archive.unlink()
    return written


def _fetch(dataset: RemoteDataset, remote: RemoteFile, known: str | None, data_dir: Path,
           progressbar: bool | None, say: Callable[[str], None]) -> list[Path]:
    import pooch
    import requests

    target = data_dir / dataset.folder
    staging = data_dir / STAGING_DIRNAME / dataset.folder
    staging.mkdir(parents=True, exist_ok=True)
    part = staging / (remote.name + ".part")
    url = _url(dataset, remote)
    downloader = ResumingDownloader(part, progressbar)
    resumed = part.stat().st_size if part.exists() else 0
    say(f"{remote.name}: {'resuming after ' + format(resumed, ',') + ' bytes from' if resumed else 'from'} {url}")
    pooch.get_logger().setLevel("WARNING")
    with FileLock(str(staging / (remote.name + ".lock"))):
        try:
            path = Path(pooch.retrieve(url, known_hash=known, fname=remote.name, path=staging,
                                       downloader=downloader))
        except requests.exceptions.HTTPError as exc:
            raise DownloadError(
                f"{url} answered {exc.response.status_code} {exc.response.reason}; nothing was written to "
                f"{target}/. If the file has moved, download it by hand and put it in {target}/ "
                f"(or set {MIRROR_ENV} to a mirror)"
            ) from None
        except requests.exceptions.RequestException as exc:
            kept = part.stat().st_size if part.exists() else 0
            where = (f"the {kept:,} bytes received are kept in {part} and the same command resumes from there"
                     if kept else "run the same command again")
            raise DownloadError(
                f"downloading {remote.name} from {url} failed ({_reason(exc, url)}); nothing was written to "
                f"{target}/: {where}"
            ) from None
        except ValueError:  # pooch: hash mismatch (the downloaded file is already deleted)
            if downloader.sha256 is None or downloader.sha256 == known:
                raise
            source = remote.source if remote.sha256 else f"the hash recorded in {target / SUMS_NAME}"
            raise DownloadError(
                f"{remote.name} from {url} has SHA-256 {downloader.sha256}, but {source} gives {known}; the "
                f"download was deleted and nothing was written to {target}/. Run the command again; if this "
                "repeats, the file on the server has changed: please report it"
            ) from None
        digest = known or downloader.sha256 or sha256_of(path)
        target.mkdir(parents=True, exist_ok=True)
        if remote.is_archive:
            written = _unpack(path, remote, target, url)
        else:
            os.replace(path, target / remote.name)
            written = [target / remote.name]
        if known is None:  # --trust-first-download: remember what arrived, once it proved usable
            _record_sum(target, remote.name, digest)
            say(f"{remote.name}: no pinned SHA-256; recorded {digest} in {target / SUMS_NAME}")
    return written  # the lock file stays: deleting it could let two downloads share the .part file


def _reason(exc: Exception, url: str) -> str:
    text = str(exc).strip() or type(exc).__name__
    if "Connection broken" in text or "IncompleteRead" in text:
        return "the connection broke before the whole file arrived"
    if "Max retries exceeded" in text:  # requests' words for "could not connect"
        return f"could not connect to {urlsplit(url).netloc}"
    return text if len(text) <= 200 else text[:197] + "..."


# ---- a whole dataset ------------------------------------------------------------------------------
def download(name: str, data_dir: Path | None = None, trust_first_download: bool = False,
             progressbar: bool | None = None, say: Callable[[str], None] = print) -> list[Path]:
    """Fetch every file of ``name`` that is not already in ``data/<folder>/``; return the files written."""
    data_dir = Path(data_dir) if data_dir else default_data_dir()
    dataset = resolve(name, data_dir)
    if not dataset.files:
        say(f"{name}: nothing to download ({SPECS[name].url}); `adray prepare {name}` works as it is")
        return []
    target = data_dir / dataset.folder
    recorded = read_sums(target)
    todo = []
    for remote in dataset.files:
        known = remote.sha256 or recorded.get(remote.name)
        if _present(remote, target, known):
            continue
        if not remote.is_archive and (target / remote.name).exists():
            say(f"{remote.name}: the copy in {target}/ does not have the expected SHA-256; downloading it again")
        todo.append((remote, known))
    unpinned = [remote.name for remote, known in todo if known is None]
    if unpinned and not trust_first_download:
        raise UnpinnedFileError(
            f"{len(unpinned)} file(s) of {name!r} have no published SHA-256 that adray could pin: "
            f"{', '.join(unpinned)}. Run `adray download {name} --trust-first-download` to fetch them anyway: "
            f"adray records the SHA-256 of what arrives in {target / SUMS_NAME} and checks later downloads "
            "against it" + ("; or fetch pinned files one by one (adray download adbench:cardio adbench:glass ...)"
                            if dataset.name == "adbench" else "")
        )
    written = []
    for remote, known in todo:
        written += _fetch(dataset, remote, known, data_dir, progressbar, say)
    state = f"{len(written)} file(s) written" if todo else "already downloaded"
    prepare = " ".join(dataset.prepare_as) if len(dataset.prepare_as) <= 3 else f"{dataset.prepare_as[0]} ..."
    say(f"{name}: {state} in {target}/; next: adray prepare {prepare}")
    return written
