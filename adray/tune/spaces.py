"""Each method's default sweep: the dataset it runs on with no setup, and its hyperparameter grid.

Grids follow the seeds' own grids where the seeds swept something, kept small enough that
``python sweeps/grid.py --method NAME`` finishes in minutes on a laptop CPU. ``--set key=v1,v2``
replaces or adds an axis.
"""

from __future__ import annotations

# the embedded dataset each method runs on by default (no download needed), optionally with the name
# of the dataset's setting to use ("dataset:setting"; otherwise the dataset's default setting)
DEFAULT_DATASET: dict[str, str] = {
    "ae": "digits",
    "iforest": "breast_cancer",
    "a3": "digits",
    "argue": "digits",
    "amsl": "basic_motions",
    "deepsvdd": "breast_cancer:unsupervised",
    "deepsad": "breast_cancer",
    "devnet": "breast_cancer",
    "repen": "breast_cancer:unsupervised",
    "gandi": "gaussian_shift",
    "r2ad2": "digits:r2ad2",
    "dagmm": "breast_cancer:unsupervised",
    "gradcon": "breast_cancer:unsupervised",
    "fanogan": "breast_cancer:unsupervised",
    "mexcvae": "breast_cancer:unsupervised",
    "ganomaly": "digits",
}
FALLBACK_DATASET = "synthetic"

# hyperparameter grids: every combination is a configuration, each run with every seed
GRIDS: dict[str, dict[str, list]] = {
    # the baselines: one default each (their class defaults), measured against PyOD on 18 ODDS/ADBench sets
    # (sweeps/bench_baselines.py); the seeds' networks are architecture="dense" (see each module)
    "ae": {"architecture": ["mlp"], "epochs": [150], "batch_size": [128], "learning_rate": [1e-3], "dropout": [0.1]},
    "iforest": {"n_estimators": [100, 300]},
    # A3: 30 target + 60 alarm epochs, N(0.5, 1) counter-examples, alarm lr 1e-5 as published
    # and 1e-4; batch 64 instead of 256 so the small embedded sets get enough steps (256: digits AUC 0.67 vs 0.94)
    "a3": {"target_epochs": [30], "alarm_epochs": [60], "learning_rate": [1e-5, 1e-4], "batch_size": [64],
           "anomaly_net": ["normal"], "anomaly_loss_weight": [1.0]},
    # ARGUE ("auto": the given normal sub-classes, or learned partitions when the data has only one) and A4RGUE's
    # learned partitions; the seeds ran 500 epochs at lr 1e-4
    # (a GPU budget): 30 per stage at 1e-3 keeps the default sweep to minutes on a CPU
    "argue": {"expert_epochs": [30], "alarm_epochs": [30], "cluster_epochs": [30], "learning_rate": [1e-3],
              "batch_size": [64], "partitions": ["auto", "clusters"], "n_clusters": [5]},
    # AMSL (published code): R = 7 views, 500 memory slots, filters 32/64/128, lambda1 1, lambda2 2e-4, batch 16;
    # 100 epochs is the original (a GPU budget): 20 keeps the default sweep to minutes on a CPU
    "amsl": {"epochs": [20], "batch_size": [16], "learning_rate": [1e-3]},
    # Deep-SVDD / Deep-SAD: pre-trained AE then the hypersphere, Ruff et al.'s tabular protocol (no dropout: it
    # cost 0.09 mean AUC on the ODDS/ADBench sets)
    "deepsvdd": {"architecture": ["auto"], "pretrain_epochs": [150], "epochs": [150], "learning_rate": [1e-4],
                 "batch_size": [128]},
    "deepsad": {"architecture": ["auto"], "pretrain_epochs": [150], "epochs": [150], "learning_rate": [1e-4],
                "batch_size": [128]},
    # DevNet (Pang et al. 2019): the paper's 20-unit network and its deeper 1000-250-20 option
    "devnet": {"epochs": [50], "hidden_dims": [[20], [1000, 250, 20]]},
    "repen": {"epochs": [30], "embedding_dim": [20, 50]},
    # GANDI (the paper's settings 9-12): generator arch 3 or 2, D:G step ratio 1/3/6, minibatch 12;
    # 5,000 steps (the original ran 200,001) reported every 500 steps: AUC over training
    # R2-AD2: K = 1 and 3 gradient snapshots, the SMALL alarm and BN momentum 0.1 size it for a
    # CPU; the seeds' protocol is K in 1..4, alarm "big", 100 epochs, norm_momentum 0.01 (a GPU budget)
    "r2ad2": {"n_targets": [1, 3], "alarm_dims": ["small"], "epochs": [20], "batch_size": [32], "norm_momentum": [0.1]},
    # DAGMM: A3's and ARGUE's tabular compression/estimation sizes, lr 1e-4, 200 epochs
    "dagmm": {"comp_hiddens": [[12, 4, 1], [60, 30, 10]], "est_hiddens": [[10, 2], [10, 4]], "epochs": [200],
              "batch_size": [64], "learning_rate": [1e-4]},
    # GradCon: Kwon et al.'s per-layer cosine, and the shipped element-wise one
    "gradcon": {"epochs": [100], "batch_size": [32], "learning_rate": [1e-3], "cosine": ["layer", "element"]},
    "fanogan": {"epochs": [100], "batch_size": [32], "learning_rate": [1e-4, 1e-3]},
    "mexcvae": {"epochs": [100], "batch_size": [32], "learning_rate": [1e-4, 1e-3]},
    # GANomaly (Akcay et al. 2018: 15 epochs, batch 64); 16 px and 32 filters keep the conv net CPU-sized
    "ganomaly": {"epochs": [15], "batch_size": [64], "image_size": [16], "n_filters": [32]},
    "gandi": {"training_steps": [5000], "steps_per_report": [500], "g_arch": [3, 2], "d_step_ratio": [1, 3, 6]},
}

# the seeds' seeds (R2-AD2's five; adray/data/PROTOCOL.md, "Which seed draws what")
DEFAULT_SEEDS: list[int] = [110, 210, 310, 410, 510]


def default_dataset(method: str) -> str:
    """``"dataset"`` or ``"dataset:setting"``: what ``--method NAME`` runs on when no --dataset is given."""
    return DEFAULT_DATASET.get(method, FALLBACK_DATASET)


def split_dataset_arg(text: str) -> tuple[str, str | None]:
    """``"nsl_kdd:r2ad2"`` -> ("nsl_kdd", "r2ad2"); ``"digits"`` -> ("digits", None); ``"odds:x"`` stays whole."""
    from adray.data.catalog import CSV_PREFIX, ODDS_PREFIX

    for prefix in (ODDS_PREFIX, CSV_PREFIX):
        if text.startswith(prefix):
            name, _, setting = text[len(prefix):].partition(":")
            return prefix + name, setting or None
    name, _, setting = text.partition(":")
    return name, setting or None


def default_grid(method: str) -> dict[str, list]:
    return {key: list(values) for key, values in GRIDS.get(method, {}).items()}
