"""The fairness audit of the scenarios' decisions (issue: every scenario audited for bias and for the people its
data does not cover): per scenario partition, the adverse-outcome rate of every group of subjects — by county, sex
and age band for persons; county and employer type for employers; county and use for vehicles — for the day and a
rolling window, its ratio to the rest of the province, a test of the difference that holds for small groups, and
how far each source covers the group. No Dagster here.

* :mod:`.groups` — the groups, and the rule that no group of fewer than k decisions is ever shown;
* :mod:`.stats` — the figures, pure, over one frame of decisions per window;
* :mod:`.store` — reading the decisions and subjects from the base database, writing ``scenario_fairness``.
"""

from jilin_pipelines.fairness.stats import COLUMNS, PROVINCE, audit
from jilin_pipelines.fairness.store import FairnessRun, describe, run_fairness, stored

__all__ = ["COLUMNS", "PROVINCE", "FairnessRun", "audit", "describe", "run_fairness", "stored"]
