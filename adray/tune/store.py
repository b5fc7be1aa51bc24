"""Share a dataset with every trial through Ray's object store, without copies.

The driver puts the dataset's Arrow table once; a trial's ``get`` maps the same shared-memory pages
(on one node), so ``dataset.X`` in every trial is a read-only view of a single physical copy.
Cross-node gets copy the object once per node.
"""

from __future__ import annotations

import ray

from adray.data.dataset import Dataset


def put_dataset(dataset: Dataset) -> ray.ObjectRef:
    """Put the dataset into the object store once; pass the ref to trials (never the table)."""
    table = dataset.table.combine_chunks()
    return ray.put(table)


def get_dataset(ref: ray.ObjectRef) -> Dataset:
    """The dataset behind ``ref``: zero-copy and read-only on the node that holds it."""
    return Dataset(ray.get(ref))
