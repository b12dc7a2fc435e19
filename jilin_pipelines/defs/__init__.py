"""The Dagster layer: thin, generated from the catalogue. Nothing outside ``defs/`` imports it."""

import warnings

import dagster as dg

# We state a BackfillPolicy on every partitioned asset on purpose (the house rules); Dagster marks the
# parameter beta and would warn once per asset at every load.
warnings.filterwarnings("ignore", category=dg.BetaWarning)
