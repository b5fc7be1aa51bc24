"""CIC-Darknet2020 (https://www.unb.ca/cic/datasets/darknet2020.html): ``Darknet.CSV``.

One CICFlowMeter flow per row, 85 columns from ``Flow ID,Src IP,Src Port,Dst IP,Dst Port,Protocol,
Timestamp,...`` to two columns both named ``Label``: the traffic class (Non-Tor, NonVPN, Tor, VPN) and
the fine application label (pandas names it ``Label.1``). Preprocessing follows ARGUE and R2-AD2
(their dataset loaders):

- +-Inf becomes NaN and rows with NaN are dropped (a few flows have undefined rates);
- ``Flow ID``, ``Src IP``, ``Dst IP`` and ``Timestamp`` are dropped as non-informative identifiers, and
  so is the fine label; the ports and ``Protocol`` stay numeric features;
- the class label is ``Label`` exactly as spelled in the file.

``groups`` is ``Protocol`` as a string ("0", "6", "17"): ARGUE splits the normal classes by protocol.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from adray.data.sources import RawData, _csv

LABEL, FINE_LABEL = "Label", "Label.1"
DROPPED = ["Flow ID", "Src IP", "Dst IP", "Timestamp"]



def read(root: Path, files: list[Path]) -> RawData:
    (path,) = files
    frame = _csv.read_csv(path)
    _csv.require_columns(frame, [*DROPPED, "Protocol", LABEL, FINE_LABEL], path)
    features = _csv.to_numeric(frame.drop(columns=[*DROPPED, LABEL, FINE_LABEL]), path)
    kept = _csv.drop_non_finite_rows(features.assign(**{LABEL: frame[LABEL]}))
    labels = kept.pop(LABEL)
    return RawData(
        X=kept.to_numpy(dtype=np.float32),
        labels=labels.to_numpy(dtype=object),
        feature_names=list(kept.columns),
        groups=kept["Protocol"].astype(np.int64).astype(str).to_numpy(dtype=object),
    )
