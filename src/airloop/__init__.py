"""airloop: closed-loop MLOps on Apache Airflow.

Kept import-light on purpose: the DAG file imports this package at parse time.
"""

import os as _os

__version__ = "0.1.0"

# OpenMP (scikit-learn's and LightGBM's trees, torch) busy-waits for work between parallel regions
# by default. Airflow runs tasks side by side on few cores, where spinning threads starve the
# processes beside them: a HistGradientBoosting fit on 160k flights rows took 37 s next to a busy
# process, 2.0 s with a passive wait. Set before any OpenMP runtime loads (this package is imported
# first by the CLI, the DAG file and Airflow's preload); a user's own setting wins.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
