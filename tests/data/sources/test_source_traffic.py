"""Readers of the network-traffic and URL datasets, on small files written in each real format."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from adray.data.dataset import Dataset, DatasetMeta
from adray.data.sources import darknet, doh, ids2018, nsl_kdd, url
from adray.errors import MalformedFileError


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def assert_malformed(call, path: Path, line: int, *words: str) -> None:
    with pytest.raises(MalformedFileError) as info:
        call()
    message = str(info.value)
    assert path.name in message and re.search(rf"\bline {line}\b", message), message
    assert info.value.line == line
    for word in words:
        assert word in message, message


def as_dataset(raw, name: str) -> Dataset:
    meta = DatasetMeta(name=name, shape=raw.X.shape[1:], feature_names=raw.feature_names,
                       normal_classes=[], anomalous_classes=[])
    return Dataset.from_arrays(raw.X, raw.labels, meta, groups=raw.groups, official_test=raw.official_test)


# ---- NSL-KDD --------------------------------------------------------------------------------------
# real lines of KDDTrain+.txt / KDDTest+.txt (41 features, attack name, difficulty level)
KDD_TRAIN = [
    "0,tcp,ftp_data,SF,491,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,2,2,0.00,0.00,0.00,"
    "0.00,1.00,0.00,0.00,150,25,0.17,0.03,0.17,0.00,0.00,0.00,0.05,0.00,normal,20",
    "0,udp,other,SF,146,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,13,1,0.00,0.00,0.00,"
    "0.00,0.08,0.15,0.00,255,1,0.00,0.60,0.88,0.00,0.00,0.00,0.00,0.00,normal,15",
    "0,tcp,private,S0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,123,6,1.00,1.00,0.00,"
    "0.00,0.05,0.07,0.00,255,26,0.10,0.05,0.00,0.00,1.00,1.00,0.00,0.00,neptune,19",
    "0,tcp,telnet,RSTO,0,15,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1,1,0.00,0.00,1.00,"
    "1.00,1.00,0.00,0.00,1,1,1.00,0.00,1.00,0.00,0.00,0.00,1.00,1.00,guess_passwd,11",
]
KDD_TEST = [
    "0,tcp,private,REJ,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,229,10,0.00,0.00,"
    "1.00,1.00,0.04,0.06,0.00,255,10,0.04,0.06,0.00,0.00,0.00,0.00,1.00,1.00,neptune,21",
    "2,tcp,ftp_data,SF,12983,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1,1,0.00,0.00,"
    "0.00,0.00,1.00,0.00,0.00,134,86,0.61,0.04,0.61,0.02,0.00,0.00,0.00,0.00,normal,21",
    "0,icmp,eco_i,SF,20,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1,65,0.00,0.00,0.00,"
    "0.00,1.00,0.00,1.00,3,57,1.00,0.00,1.00,0.28,0.00,0.00,0.00,0.00,saint,15",
    "1,tcp,telnet,SF,1511,2957,0,0,0,3,0,1,2,1,0,0,1,0,0,0,0,0,1,1,0.00,0.00,"
    "0.00,0.00,1.00,0.00,0.00,1,10,1.00,0.00,1.00,0.30,0.00,0.00,0.00,0.00,buffer_overflow,17",
]


def kdd_files(tmp_path: Path, train=KDD_TRAIN, test=KDD_TEST) -> list[Path]:
    return [write(tmp_path / "KDDTrain+.txt", train), write(tmp_path / "KDDTest+.txt", test)]


def test_nsl_kdd_features_labels_groups_and_official_test(tmp_path):
    raw = nsl_kdd.read(tmp_path, kdd_files(tmp_path))

    numeric = [f for f in nsl_kdd.FEATURES if f not in ("protocol_type", "service", "flag")]
    assert len(numeric) == 38
    assert raw.X.shape == (8, 38 + 3 + 70 + 11)
    assert raw.feature_names[:38] == numeric
    assert raw.feature_names[38:41] == ["protocol_type_tcp", "protocol_type_udp", "protocol_type_icmp"]
    assert raw.feature_names[41] == "service_aol" and raw.feature_names[110] == "service_Z39_50"
    flags = ("OTH", "REJ", "RSTO", "RSTOS0", "RSTR", "S0", "S1", "S2", "S3", "SF", "SH")
    assert raw.feature_names[111:] == [f"flag_{f}" for f in flags]
    assert list(raw.labels) == ["normal", "normal", "DoS", "R2L", "DoS", "normal", "Probe", "U2R"]
    assert list(raw.groups) == ["tcp", "udp", "tcp", "tcp", "tcp", "tcp", "icmp", "tcp"]
    assert list(raw.official_test) == [False] * 4 + [True] * 4

    names = raw.feature_names
    row = dict(zip(names, raw.X[0], strict=True))  # 0,tcp,ftp_data,SF,491,... normal,20
    assert row["src_bytes"] == 491 and row["dst_host_count"] == 150 and row["dst_host_rerror_rate"] == 0.05
    hot = {n for n, v in row.items() if n.startswith(("protocol_type_", "service_", "flag_")) and v == 1}
    assert hot == {"protocol_type_tcp", "service_ftp_data", "flag_SF"}
    assert raw.X[6, names.index("protocol_type_icmp")] == 1 and raw.X[6, names.index("service_eco_i")] == 1
    assert 20 not in raw.X[0, 34:38]  # the difficulty level is no feature: the last numeric is a rate
    assert raw.X[:, 38:].sum(axis=1).tolist() == [3.0] * 8  # exactly one category per nominal attribute


def test_nsl_kdd_errors_name_file_and_line(tmp_path):
    bad_attack = KDD_TRAIN[:2] + [KDD_TRAIN[2].replace("neptune", "neptunee")]
    files = kdd_files(tmp_path, train=bad_attack)
    assert_malformed(lambda: nsl_kdd.read(tmp_path, files), files[0], 3, "neptunee")

    truncated = KDD_TEST[:3] + [KDD_TEST[3][:40]]
    files = kdd_files(tmp_path, test=truncated)
    assert_malformed(lambda: nsl_kdd.read(tmp_path, files), files[1], 4, "truncated")

    too_many = KDD_TRAIN[:1] + [KDD_TRAIN[1] + ",7"] + KDD_TRAIN[2:]
    files = kdd_files(tmp_path, train=too_many)
    assert_malformed(lambda: nsl_kdd.read(tmp_path, files), files[0], 2, "43", "44")

    not_a_number = KDD_TRAIN[:3] + [KDD_TRAIN[3].replace(",15,", ",fifteen,", 1)]
    files = kdd_files(tmp_path, train=not_a_number)
    assert_malformed(lambda: nsl_kdd.read(tmp_path, files), files[0], 4, "dst_bytes", "fifteen")

    unknown_service = KDD_TRAIN[:1] + [KDD_TRAIN[1].replace("other", "quic")]
    files = kdd_files(tmp_path, train=unknown_service)
    assert_malformed(lambda: nsl_kdd.read(tmp_path, files), files[0], 2, "service", "quic")


# ---- CSE-CIC-IDS2018 ------------------------------------------------------------------------------
IDS_COLUMNS = ["Dst Port", "Protocol", "Timestamp", "Flow Duration", "Tot Fwd Pkts", "Tot Bwd Pkts", "TotLen Fwd Pkts", "TotLen Bwd Pkts", "Fwd Pkt Len Max", "Fwd Pkt Len Min", "Fwd Pkt Len Mean", "Fwd Pkt Len Std", "Bwd Pkt Len Max", "Bwd Pkt Len Min", "Bwd Pkt Len Mean", "Bwd Pkt Len Std", "Flow Byts/s", "Flow Pkts/s", "Flow IAT Mean", "Flow IAT Std", "Flow IAT Max", "Flow IAT Min", "Fwd IAT Tot", "Fwd IAT Mean", "Fwd IAT Std", "Fwd IAT Max", "Fwd IAT Min", "Bwd IAT Tot", "Bwd IAT Mean", "Bwd IAT Std", "Bwd IAT Max", "Bwd IAT Min", "Fwd PSH Flags", "Bwd PSH Flags", "Fwd URG Flags", "Bwd URG Flags", "Fwd Header Len", "Bwd Header Len", "Fwd Pkts/s", "Bwd Pkts/s", "Pkt Len Min", "Pkt Len Max", "Pkt Len Mean", "Pkt Len Std", "Pkt Len Var", "FIN Flag Cnt", "SYN Flag Cnt", "RST Flag Cnt", "PSH Flag Cnt", "ACK Flag Cnt", "URG Flag Cnt", "CWE Flag Count", "ECE Flag Cnt", "Down/Up Ratio", "Pkt Size Avg", "Fwd Seg Size Avg", "Bwd Seg Size Avg", "Fwd Byts/b Avg", "Fwd Pkts/b Avg", "Fwd Blk Rate Avg", "Bwd Byts/b Avg", "Bwd Pkts/b Avg", "Bwd Blk Rate Avg", "Subflow Fwd Pkts", "Subflow Fwd Byts", "Subflow Bwd Pkts", "Subflow Bwd Byts", "Init Fwd Win Byts", "Init Bwd Win Byts", "Fwd Act Data Pkts", "Fwd Seg Size Min", "Active Mean", "Active Std", "Active Max", "Active Min", "Idle Mean", "Idle Std", "Idle Max", "Idle Min", "Label"]
IDS_EXTRA = ["Flow ID", "Src IP", "Src Port", "Dst IP"]  # only in Thuesday-20-02-2018


def ids_row(columns, label, **values) -> str:
    defaults = {"Dst Port": "443", "Protocol": "6", "Timestamp": "02/03/2018 08:47:38",
                "Flow Duration": "141385",
                "Flow ID": "172.31.69.25-94.231.103.172-22-45498-6", "Src IP": "94.231.103.172",
                "Src Port": "45498", "Dst IP": "172.31.69.25", "Label": label}
    values = {k.replace("_", " "): v for k, v in values.items()}
    return ",".join(str(values.get(c, defaults.get(c, "0"))) for c in columns)


def ids_files(tmp_path: Path, friday16=None) -> list[Path]:
    header = ",".join(IDS_COLUMNS)
    wide = IDS_EXTRA + IDS_COLUMNS
    day0 = write(tmp_path / "Friday-02-03-2018_TrafficForML_CICFlowMeter.csv", [
        header,
        ids_row(IDS_COLUMNS, "Benign", Dst_Port=53, Protocol=17, Tot_Fwd_Pkts=1),
        ids_row(IDS_COLUMNS, "Bot", Dst_Port=8080, Flow_Duration=7),
        ids_row(IDS_COLUMNS, "Benign", **{"Flow Byts/s": "Infinity", "Flow Pkts/s": "Infinity"}),
        ids_row(IDS_COLUMNS, "Benign", **{"Flow Byts/s": "NaN"}),
        ids_row(IDS_COLUMNS, "Benign", Protocol=0, Dst_Port=0),
    ])
    day1 = write(tmp_path / "Friday-16-02-2018_TrafficForML_CICFlowMeter.csv", friday16 or [
        header,
        ids_row(IDS_COLUMNS, "DoS attacks-SlowHTTPTest", Dst_Port=21),
        header,  # the real files repeat their header row
        ids_row(IDS_COLUMNS, "DoS attacks-Hulk", Dst_Port=80),
        ids_row(IDS_COLUMNS, "Benign", Idle_Min=5),
    ])
    day2 = write(tmp_path / "Thuesday-20-02-2018_TrafficForML_CICFlowMeter.csv", [
        ",".join(wide),
        ids_row(wide, "DDoS attacks-LOIC-HTTP", Dst_Port=80),
        ids_row(wide, "Benign", Src_Port=50000),
    ])
    return [day0, day1, day2]


def test_ids2018_concatenates_days_and_applies_the_seed_preprocessing(tmp_path):
    raw = ids2018.read(tmp_path, ids_files(tmp_path))

    kept = [c for c in IDS_COLUMNS if c not in ("Protocol", "Timestamp", "Label")]
    assert len(kept) == 77
    assert raw.feature_names == kept + ["day", "Protocol_0", "Protocol_6", "Protocol_17"]
    # day 0: the Infinity and NaN rows are gone; day 1: the repeated header is gone
    assert list(raw.labels) == ["Benign", "Bot", "Benign", "DoS", "DoS", "Benign", "DDoS", "Benign"]
    assert list(raw.groups) == ["0", "0", "0", "1", "1", "1", "2", "2"]
    assert raw.X.shape == (8, 81) and raw.X.dtype == np.float32
    assert raw.official_test is None
    assert np.isfinite(raw.X).all()
    col = {name: raw.X[:, i] for i, name in enumerate(raw.feature_names)}
    assert col["day"].tolist() == [0, 0, 0, 1, 1, 1, 2, 2]
    assert col["Dst Port"].tolist() == [53, 8080, 0, 21, 80, 443, 80, 443]
    assert col["Protocol_17"].tolist() == [1, 0, 0, 0, 0, 0, 0, 0]
    assert col["Protocol_0"].tolist() == [0, 0, 1, 0, 0, 0, 0, 0]
    assert col["Protocol_6"].tolist() == [0, 1, 0, 1, 1, 1, 1, 1]
    assert col["Idle Min"][5] == 5 and col["Flow Duration"][1] == 7


def test_ids2018_maps_every_label():
    assert set(ids2018.LABEL_MAP.values()) == {"Benign", "Bot", "BruteForce", "DDoS", "DoS", "Infiltration",
                                               "WebAttacks"}
    assert ids2018.LABEL_MAP["Infilteration"] == "Infiltration"
    assert ids2018.LABEL_MAP["SQL Injection"] == ids2018.LABEL_MAP["Brute Force -XSS"] == "WebAttacks"
    assert ids2018.LABEL_MAP["SSH-Bruteforce"] == ids2018.LABEL_MAP["FTP-BruteForce"] == "BruteForce"


def test_ids2018_errors_name_file_and_line(tmp_path):
    header = ",".join(IDS_COLUMNS)
    good = ids_row(IDS_COLUMNS, "Benign")
    not_a_number = ids_row(IDS_COLUMNS, "Benign", Flow_Duration="12x")
    cases = [
        ([header, good, header, not_a_number], 4, "Flow Duration", "12x"),  # after a repeated header
        ([header, good, not_a_number], 3, "Flow Duration", "12x"),
        ([header, good, good, good.rsplit(",", 30)[0]], 4, "truncated"),
        ([header, good, good + ",0"], 3, "80", "81"),
        ([header, good, header, ids_row(IDS_COLUMNS, "Heartbleed")], 4, "Heartbleed"),
    ]
    for lines, line, *words in cases:
        files = ids_files(tmp_path, friday16=lines)
        assert_malformed(lambda files=files: ids2018.read(tmp_path, files), files[1], line, *words)


# ---- CIC-Darknet2020 ------------------------------------------------------------------------------
# a representative subset of the 85 real columns (real names, real order, the doubled Label)
DARKNET_HEADER = ("Flow ID,Src IP,Src Port,Dst IP,Dst Port,Protocol,Timestamp,Flow Duration,Total Fwd Packet,"
                  "Total Bwd packets,Flow Bytes/s,Flow Packets/s,Idle Max,Idle Min,Label,Label")
DARKNET_ROWS = [
    "10.152.152.11-216.58.220.99-57158-443-6,10.152.152.11,57158,216.58.220.99,443,6,24/07/2015 04:09:48 PM,"
    "229,1,1,0,8733.62,0,0,Non-Tor,AUDIO-STREAMING",
    "10.152.152.11-74.125.136.120-49134-443-6,10.152.152.11,49134,74.125.136.120,443,6,"
    "24/07/2015 04:09:48 PM,0,2,0,Infinity,Infinity,0,0,Non-Tor,AUDIO-STREAMING",
    "10.8.8.246-8.8.8.8-55318-53-17,10.8.8.246,55318,8.8.8.8,53,17,13/02/2016 10:24:27 AM,"
    "46116,2,2,5421.12,86.74,0,0,NonVPN,Chat",
    "192.168.1.2-192.168.1.255-0-0-0,192.168.1.2,0,192.168.1.255,0,0,12/04/2016 01:10:02 PM,"
    "12,1,0,,,0,0,NonVPN,VOIP",
    "10.0.2.15-78.46.223.24-43892-9001-6,10.0.2.15,43892,78.46.223.24,9001,6,14/02/2016 09:15:36 AM,"
    "1012,5,3,2100.5,7.9,12,3,Tor,Browsing",
    "10.8.8.130-13.107.4.50-50522-80-6,10.8.8.130,50522,13.107.4.50,80,6,20/02/2016 02:01:44 PM,"
    "90000,40,38,125.0,0.87,90,60,VPN,File-Transfer",
]


def test_darknet_drops_identifiers_and_non_finite_rows(tmp_path):
    path = write(tmp_path / "Darknet.CSV", [DARKNET_HEADER, *DARKNET_ROWS])
    raw = darknet.read(tmp_path, [path])

    assert raw.feature_names == ["Src Port", "Dst Port", "Protocol", "Flow Duration", "Total Fwd Packet",
                                 "Total Bwd packets", "Flow Bytes/s", "Flow Packets/s", "Idle Max",
                                 "Idle Min"]
    assert raw.X.shape == (4, 10) and np.isfinite(raw.X).all()
    assert list(raw.labels) == ["Non-Tor", "NonVPN", "Tor", "VPN"]
    assert list(raw.groups) == ["6", "17", "6", "6"]
    assert raw.X[1].tolist() == pytest.approx([55318, 53, 17, 46116, 2, 2, 5421.12, 86.74, 0, 0])
    assert raw.official_test is None


def test_darknet_errors_name_file_and_line(tmp_path):
    path = tmp_path / "Darknet.CSV"
    write(path, [DARKNET_HEADER, *DARKNET_ROWS[:2], DARKNET_ROWS[2].replace(",46116,", ",46116s,")])
    assert_malformed(lambda: darknet.read(tmp_path, [path]), path, 4, "Flow Duration", "46116s")
    write(path, [DARKNET_HEADER, *DARKNET_ROWS[:4], DARKNET_ROWS[4].rsplit(",", 5)[0]])
    assert_malformed(lambda: darknet.read(tmp_path, [path]), path, 6, "truncated")
    write(path, [DARKNET_HEADER, DARKNET_ROWS[0] + ",x", *DARKNET_ROWS[1:]])
    assert_malformed(lambda: darknet.read(tmp_path, [path]), path, 2, "16", "17")
    write(path, [DARKNET_HEADER.replace("Protocol", "Proto"), *DARKNET_ROWS])
    assert_malformed(lambda: darknet.read(tmp_path, [path]), path, 1, "Protocol")


# ---- CIRA-CIC-DoHBrw-2020 -------------------------------------------------------------------------
DOH_HEADER = (
    "SourceIP,DestinationIP,SourcePort,DestinationPort,TimeStamp,Duration,FlowBytesSent,FlowSentRate,"
    "FlowBytesReceived,FlowReceivedRate,PacketLengthVariance,PacketLengthStandardDeviation,PacketLengthMean,"
    "PacketLengthMedian,PacketLengthMode,PacketLengthSkewFromMedian,PacketLengthSkewFromMode,"
    "PacketLengthCoefficientofVariation,PacketTimeVariance,PacketTimeStandardDeviation,PacketTimeMean,"
    "PacketTimeMedian,PacketTimeMode,PacketTimeSkewFromMedian,PacketTimeSkewFromMode,"
    "PacketTimeCoefficientofVariation,ResponseTimeTimeVariance,ResponseTimeTimeStandardDeviation,"
    "ResponseTimeTimeMean,ResponseTimeTimeMedian,ResponseTimeTimeMode,ResponseTimeTimeSkewFromMedian,"
    "ResponseTimeTimeSkewFromMode,ResponseTimeTimeCoefficientofVariation,Label"
)
DOH_STATS = ",".join(["1.5"] * 28)  # 28 statistics after Duration


def doh_row(ip, port, stamp, duration, label, stats=DOH_STATS) -> str:
    return f"{ip},176.103.130.131,{port},443,{stamp},{duration},{stats},{label}"


def doh_files(tmp_path: Path, malicious_rows=None) -> list[Path]:
    benign = write(tmp_path / "l2-benign.csv", [
        DOH_HEADER,
        doh_row("192.168.20.191", 50749, "2020-01-14 15:43:31", 95.08, "Benign"),  # ISO week 3
        doh_row("192.168.20.192", 50750, "2019-12-16 10:00:00", 12.0, "Benign"),  # week 51
        doh_row("192.168.20.193", 50751, "2020-01-06 08:00:00", 3.5, "Benign"),  # week 2
    ])
    malicious = write(tmp_path / "l2-malicious.csv", [
        DOH_HEADER,
        *(malicious_rows or [
            doh_row("192.168.20.144", 36102, "2020-01-14 18:00:00", 1.25, "Malicious"),
            doh_row("192.168.20.145", 36103, "2019-12-12 18:00:00", 0.5, "Malicious",
                    stats=",".join(["1.5"] * 27 + [""])),  # NaN: dropped
            doh_row("192.168.20.146", 36104, "2019-12-10 18:00:00", 0.5, "Malicious",
                    stats=",".join(["inf"] + ["1.5"] * 27)),  # Inf: dropped
            doh_row("192.168.20.147", 36105, "2019-12-10 18:00:00", 2.0, "Malicious"),  # week 50
        ]),
    ])
    return [benign, malicious]


def test_doh_week_is_group_and_feature(tmp_path):
    raw = doh.read(tmp_path, doh_files(tmp_path))

    columns = DOH_HEADER.split(",")
    assert raw.feature_names == columns[5:-1] + ["week"]
    assert raw.X.shape == (5, 30) and np.isfinite(raw.X).all()
    assert list(raw.labels) == ["Benign"] * 3 + ["Malicious"] * 2
    assert list(raw.groups) == ["3", "51", "2", "3", "50"]
    assert raw.X[:, -1].tolist() == [3, 51, 2, 3, 50]
    assert raw.X[:, 0].tolist() == [pytest.approx(95.08), 12.0, 3.5, 1.25, 2.0]  # Duration


def test_doh_errors_name_file_and_line(tmp_path):
    bad_time = [doh_row("192.168.20.144", 1, "2020-01-14 18:00:00", 1.0, "Malicious"),
                doh_row("192.168.20.144", 1, "yesterday", 1.0, "Malicious")]
    files = doh_files(tmp_path, bad_time)
    assert_malformed(lambda: doh.read(tmp_path, files), files[1], 3, "TimeStamp", "yesterday")

    bad_value = [doh_row("192.168.20.144", 1, "2020-01-14 18:00:00", "1.0s", "Malicious")]
    files = doh_files(tmp_path, bad_value)
    assert_malformed(lambda: doh.read(tmp_path, files), files[1], 2, "Duration", "1.0s")

    truncated = bad_time[:1] * 2 + [bad_time[0][:60]]
    files = doh_files(tmp_path, truncated)
    assert_malformed(lambda: doh.read(tmp_path, files), files[1], 4, "truncated")

    too_long = bad_time[:1] + [bad_time[0] + ",Malicious"]
    files = doh_files(tmp_path, too_long)
    assert_malformed(lambda: doh.read(tmp_path, files), files[1], 3, "35", "36")


# ---- ISCX-URL2016 ---------------------------------------------------------------------------------
# a representative subset of the 80 real columns of All.csv
URL_HEADER = ("Querylength,domain_token_count,path_token_count,avgdomaintokenlen,avgpathtokenlen,tld,"
              "ldl_domain,argPathRatio,NumberRate_Extension,Entropy_Domain,URL_Type_obf_Type")
URL_ROWS = [
    "0,3,5,5.5,4.4,3,0,0.0526,0,0.7479,benign",
    "0,2,12,5.5,,2,1,0.0833,0,0.8012,benign",
    "2,4,12,5.75,8.583,4,0,0.1818,-1,0.7683,Defacement",
    "0,3,7,6.333,4.285,3,2,Infinity,0,0.7902,malware",
    "0,3,10,5.0,5.3,3,0,0.05,0.5,0.8318,phishing",
    "1,2,4,7.0,3.75,2,1,0.0667,0,0.7219,spam",
]


def test_url_drops_columns_with_nan_or_inf_and_keeps_every_row(tmp_path):
    path = write(tmp_path / "All.csv", [URL_HEADER, *URL_ROWS])
    raw = url.read(tmp_path, [path])

    assert raw.feature_names == ["Querylength", "domain_token_count", "path_token_count", "avgdomaintokenlen",
                                 "tld", "ldl_domain", "NumberRate_Extension", "Entropy_Domain"]
    assert raw.X.shape == (6, 8)
    assert list(raw.labels) == ["benign", "benign", "Defacement", "malware", "phishing", "spam"]
    assert list(raw.groups) == ["0", "1", "0", "2", "0", "1"]
    assert raw.X[2].tolist() == pytest.approx([2, 4, 12, 5.75, 4, 0, -1, 0.7683])


def test_url_errors_name_file_and_line(tmp_path):
    path = tmp_path / "All.csv"
    write(path, [URL_HEADER, *URL_ROWS[:3], URL_ROWS[3].replace("0.7902", "0.79.02")])
    assert_malformed(lambda: url.read(tmp_path, [path]), path, 5, "Entropy_Domain", "0.79.02")
    write(path, [URL_HEADER, *URL_ROWS[:5], URL_ROWS[5][:12]])
    assert_malformed(lambda: url.read(tmp_path, [path]), path, 7, "truncated")
    write(path, [URL_HEADER, URL_ROWS[0], URL_ROWS[1] + ",benign"])
    assert_malformed(lambda: url.read(tmp_path, [path]), path, 3, "11", "12")
    write(path, [URL_HEADER.replace("URL_Type_obf_Type", "label"), *URL_ROWS])
    assert_malformed(lambda: url.read(tmp_path, [path]), path, 1, "URL_Type_obf_Type")


# ---- every reader's output is a valid Dataset -----------------------------------------------------
@pytest.mark.parametrize("name", ["nsl_kdd", "ids2018", "darknet", "doh", "url"])
def test_output_builds_a_dataset(tmp_path, name):
    if name == "nsl_kdd":
        raw = nsl_kdd.read(tmp_path, kdd_files(tmp_path))
    elif name == "ids2018":
        raw = ids2018.read(tmp_path, ids_files(tmp_path))
    elif name == "darknet":
        raw = darknet.read(tmp_path, [write(tmp_path / "Darknet.CSV", [DARKNET_HEADER, *DARKNET_ROWS])])
    elif name == "doh":
        raw = doh.read(tmp_path, doh_files(tmp_path))
    else:
        raw = url.read(tmp_path, [write(tmp_path / "All.csv", [URL_HEADER, *URL_ROWS])])
    ds = as_dataset(raw, name)
    assert len(ds) == len(raw.X) and ds.meta.feature_names == raw.feature_names
    assert np.array_equal(ds.X, raw.X.astype(np.float32))
    assert list(ds.labels) == [str(v) for v in raw.labels]
    assert ds.group_codes is not None and ds.meta.has_groups
    assert ds.meta.has_official_test == (name == "nsl_kdd")
