"""Run a sweep: ``python sweeps/grid.py ARGS`` is ``adray sweep ARGS`` (see ``--help``).

    python sweeps/grid.py --method ae                          # default dataset and grid, 5 seeds
    python sweeps/grid.py --method ae --name my-sweep --resume  # continue an interrupted sweep
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from adray.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["sweep", *sys.argv[1:]]))
