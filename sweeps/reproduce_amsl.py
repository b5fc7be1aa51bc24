"""AMSL's paper run on DSADS, printed beside the paper's Table 3 (see ``--help`` and ``adray/reproduce.py``).

    python sweeps/reproduce_amsl.py                  # a CUDA machine with data/dsads/: 5 seeds, 100 epochs
    python sweeps/reproduce_amsl.py --dry-run        # check the GPU and the DSADS files, start nothing
    python sweeps/reproduce_amsl.py --cpu --smoke    # the whole flow on a CPU with a tiny budget

Without CUDA (and without --cpu) or without the DSADS files it stops with one message saying what is
missing and how to get it (exit code 2).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from adray.reproduce import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
