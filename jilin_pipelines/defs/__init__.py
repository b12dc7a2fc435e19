"""The Dagster layer: thin, generated from the catalogue. Nothing outside ``defs/`` imports it but ``runner.py``,
which drives Dagster runs itself (``jilin-pipelines run``: the definitions, the asset keys of ``keys.py``, the
run-failure record)."""

import warnings

import dagster as dg

# We state a BackfillPolicy on every partitioned asset on purpose (the house rules); Dagster marks the
# parameter beta and would warn once per asset at every load.
warnings.filterwarnings("ignore", category=dg.BetaWarning)
