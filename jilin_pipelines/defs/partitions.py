"""The one partitions definition every partitioned asset uses: a (dataset, day) is the unit of work."""

import dagster as dg

START_DATE = "2025-06-01"
TIMEZONE = "Asia/Shanghai"

DAILY = dg.DailyPartitionsDefinition(start_date=START_DATE, timezone=TIMEZONE)

# One run per partition: a backfill fans out over the run queue and executors, one (dataset, day) each.
PER_DAY = dg.BackfillPolicy.multi_run(max_partitions_per_run=1)
