"""NSL-KDD (https://www.unb.ca/cic/datasets/nsl.html): ``KDDTrain+.txt`` and ``KDDTest+.txt``.

Each line holds the 41 connection features, the attack name and a difficulty level, without a header.
Preprocessing follows R2-AD2 (A3 agrees on the classes):

- the column names are the 41 feature names of the official ``.arff`` files (embedded below, as the
  ``.txt`` files have none); the trailing difficulty level is not a feature and is dropped;
- attack names map to normal/DoS/Probe/R2L/U2R with the standard 38-attack map; an unknown name is
  an error rather than a silently unlabelled row;
- only ``protocol_type``, ``service`` and ``flag`` are one-hot encoded, against the full category
  lists of the ``.arff`` header, so that the train and test files get identical columns. (ARGUE's
  arff reader also one-hot encodes the binary 0/1 attributes such as ``land``; that only duplicates
  them, so adray keeps them numeric.)

``groups`` is ``protocol_type`` (icmp/tcp/udp): ARGUE splits the normal class into these experts.
Rows of ``KDDTest+.txt`` are the official test set.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from adray.data.sources import RawData, _csv
from adray.errors import MalformedFileError

FEATURES = [
    "duration", "protocol_type", "service", "flag", "src_bytes", "dst_bytes", "land", "wrong_fragment",
    "urgent", "hot", "num_failed_logins", "logged_in", "num_compromised", "root_shell", "su_attempted",
    "num_root", "num_file_creations", "num_shells", "num_access_files", "num_outbound_cmds",
    "is_host_login", "is_guest_login", "count", "srv_count", "serror_rate", "srv_serror_rate",
    "rerror_rate", "srv_rerror_rate", "same_srv_rate", "diff_srv_rate", "srv_diff_host_rate",
    "dst_host_count", "dst_host_srv_count", "dst_host_same_srv_rate", "dst_host_diff_srv_rate",
    "dst_host_same_src_port_rate", "dst_host_srv_diff_host_rate", "dst_host_serror_rate",
    "dst_host_srv_serror_rate", "dst_host_rerror_rate", "dst_host_srv_rerror_rate",
]

# Category lists of the nominal attributes, as declared in KDDTrain+.arff / KDDTest+.arff.
CATEGORIES = {
    "protocol_type": ["tcp", "udp", "icmp"],
    "service": [
        "aol", "auth", "bgp", "courier", "csnet_ns", "ctf", "daytime", "discard", "domain", "domain_u",
        "echo", "eco_i", "ecr_i", "efs", "exec", "finger", "ftp", "ftp_data", "gopher", "harvest",
        "hostnames", "http", "http_2784", "http_443", "http_8001", "imap4", "IRC", "iso_tsap", "klogin",
        "kshell", "ldap", "link", "login", "mtp", "name", "netbios_dgm", "netbios_ns", "netbios_ssn",
        "netstat", "nnsp", "nntp", "ntp_u", "other", "pm_dump", "pop_2", "pop_3", "printer", "private",
        "red_i", "remote_job", "rje", "shell", "smtp", "sql_net", "ssh", "sunrpc", "supdup", "systat",
        "telnet", "tftp_u", "tim_i", "time", "urh_i", "urp_i", "uucp", "uucp_path", "vmnet", "whois",
        "X11", "Z39_50",
    ],
    "flag": ["OTH", "REJ", "RSTO", "RSTOS0", "RSTR", "S0", "S1", "S2", "S3", "SF", "SH"],
}

_ATTACKS = {
    "normal": ("normal",),
    "DoS": ("back", "land", "neptune", "pod", "smurf", "teardrop", "mailbomb", "apache2", "processtable",
            "udpstorm"),
    "Probe": ("ipsweep", "nmap", "portsweep", "satan", "mscan", "saint"),
    "R2L": ("ftp_write", "guess_passwd", "imap", "multihop", "phf", "spy", "warezclient", "warezmaster",
            "sendmail", "named", "snmpgetattack", "snmpguess", "xlock", "xsnoop", "worm"),
    "U2R": ("buffer_overflow", "loadmodule", "perl", "rootkit", "httptunnel", "ps", "sqlattack", "xterm"),
}
ATTACK_MAP = {attack: category for category, attacks in _ATTACKS.items() for attack in attacks}
N_VALUES = len(FEATURES) + 2  # features, attack name, difficulty level


def _error_at(frame: pd.DataFrame, bad: pd.Series, path: Path, problem: str) -> MalformedFileError:
    return MalformedFileError(path, problem, line=_csv.file_line(frame, bad.idxmax()))


def _read_file(path: Path) -> tuple[pd.DataFrame, pd.Series]:
    """Numeric features + the three nominal columns (as strings) and the mapped label of one file."""
    frame = _csv.read_csv(path, header_lines=0, header=None)
    if frame.shape[1] not in (N_VALUES, N_VALUES - 1):  # tolerate copies without the difficulty level
        raise MalformedFileError(
            path, f"expected {N_VALUES} comma-separated values (41 features, attack name, difficulty level), "
            f"found {frame.shape[1]}; is this KDDTrain+.txt / KDDTest+.txt?", line=1,
        )
    frame = frame.iloc[:, : N_VALUES - 1]
    frame.columns = [*FEATURES, "attack"]

    missing = frame.isna().any(axis=1)
    if missing.any():
        raise _error_at(frame, missing, path, f"expected {N_VALUES} comma-separated values, some are "
                         "missing; the file may be truncated or corrupted: download it again")
    for column, categories in CATEGORIES.items():
        unknown = ~frame[column].isin(categories)
        if unknown.any():
            value = frame.loc[unknown.idxmax(), column]
            raise _error_at(frame, unknown, path, f"unknown {column} {value!r}")
    labels = frame["attack"].map(ATTACK_MAP)
    if labels.isna().any():
        bad = labels.isna()
        raise _error_at(frame, bad, path, f"unknown attack name {frame.loc[bad.idxmax(), 'attack']!r}; "
                         f"known names: {', '.join(sorted(ATTACK_MAP))}")
    numeric = [c for c in FEATURES if c not in CATEGORIES]
    features = _csv.to_numeric(frame[numeric], path)
    for column in CATEGORIES:
        features[column] = frame[column].astype(str)
    return features[FEATURES], labels


def read(root: Path, files: list[Path]) -> RawData:
    """``files`` = [KDDTrain+.txt, KDDTest+.txt] (catalogue order)."""
    frames, labels, official_test = [], [], []
    for is_test, path in zip((False, True), files, strict=True):
        features, file_labels = _read_file(path)
        frames.append(features)
        labels.append(file_labels.to_numpy(dtype=object))
        official_test.append(np.full(len(features), is_test))
    frame = pd.concat(frames, ignore_index=True)
    groups = frame["protocol_type"].to_numpy(dtype=object)
    encoded = _csv.one_hot(frame, list(CATEGORIES), categories=CATEGORIES)
    return RawData(
        X=encoded.to_numpy(dtype=np.float32),
        labels=np.concatenate(labels),
        feature_names=[str(c) for c in encoded.columns],
        groups=groups,
        official_test=np.concatenate(official_test),
    )
