"""The core's refusals as Dagster failures: a step that cannot run for a reason an operator acts on — a lake partition
it needs is missing (``lake.MissingPartition``), a release is refused (``quality.holds.ReleaseError``) — fails
with that reason as its message, not as a crash with a stack trace."""

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from jilin_pipelines.lake import MissingPartition
from jilin_pipelines.quality.holds import ReleaseError

REFUSALS = (MissingPartition, ReleaseError)


@contextmanager
def refusals_as_failures() -> Iterator[None]:
    try:
        yield
    except REFUSALS as exc:
        raise dg.Failure(str(exc)) from exc
