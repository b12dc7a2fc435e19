"""The pipeline's settings as a Dagster resource, bound once in ``definitions.py`` from the environment; and
``compute``, where the set-based core of the merge and the scenarios runs."""

from __future__ import annotations

import dataclasses
import typing
from datetime import date
from pathlib import Path

import dagster as dg

from jilin_pipelines.engines import EMBEDDED, Engine, Spark
from jilin_pipelines.settings import Settings


class EmbeddedCompute(dg.ConfigurableResource):
    """The ``compute`` resource of the embedded engine (``JILIN_ENGINE=embedded``, the default): DuckDB in the
    step's process, nothing to configure. With ``JILIN_ENGINE=spark`` the resource is dagster-pyspark's
    ``PySparkResource`` instead (``definitions.py``)."""


def compute_engine(resource: dg.ConfigurableResource) -> Engine:
    """The engine the bound ``compute`` resource stands for: Spark on a PySpark resource's session, else embedded."""
    return Spark(session=resource.spark_session) if hasattr(type(resource), "spark_session") else EMBEDDED


#: The settings that are secrets: bound as the environment variables they come from, read at run time and never
#: stored in the definitions.
SECRETS = {"api_token": "JILIN_SOURCES_API_TOKEN", "pseudonym_key": "JILIN_PSEUDONYM_KEY",
           "audit_key": "JILIN_AUDIT_KEY"}


def _plain(hint) -> type:
    """A setting's type without ``None``: ``Path``, ``date`` or ``str``."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    return args[0] if args else hint


def _config_value(value):
    """A setting as the resource holds it (JSON-safe: text for paths and days)."""
    return value.isoformat() if isinstance(value, date) else str(value) if isinstance(value, Path) else value


def _settings_value(hint, value):
    if value is None:
        return None
    kind = _plain(hint)
    return Path(value) if kind is Path else date.fromisoformat(value) if kind is date else value


def _settings_resource() -> type[dg.ConfigurableResource]:
    """The ``settings`` resource: every field of :class:`~jilin_pipelines.settings.Settings` (declared there, once),
    paths and days as text, the secrets as their environment variables (:data:`SECRETS`); ``get()`` the
    ``Settings``, ``from_settings(s)`` the resource of a ``Settings``."""
    hints = typing.get_type_hints(Settings)
    fields = dataclasses.fields(Settings)

    def annotation(f):
        text = str | None if type(None) in typing.get_args(hints[f.name]) else str
        return text if _plain(hints[f.name]) in (Path, date, str) else hints[f.name]

    def from_settings(cls, s: Settings):
        values = {}
        for f in fields:
            value = getattr(s, f.name)
            values[f.name] = (dg.EnvVar(SECRETS[f.name]) if value else None) if f.name in SECRETS else _config_value(value)
        return cls(**values)

    def get(self) -> Settings:
        return Settings(**{f.name: _settings_value(hints[f.name], getattr(self, f.name)) for f in fields})

    def base_engine(self):
        """The base database, migrated to the newest schema."""
        from jilin_pipelines.db import base_engine

        return base_engine(self.base_db_url)

    defaults = {f.name: _config_value(f.default) for f in fields if f.default is not dataclasses.MISSING}
    namespace = {"__module__": __name__, "__doc__": _settings_resource.__doc__,
                 "__annotations__": {f.name: annotation(f) for f in fields}, **defaults,
                 "from_settings": classmethod(from_settings), "get": get, "base_engine": base_engine}
    return type("PipelineSettings", (dg.ConfigurableResource,), namespace)


PipelineSettings = _settings_resource()
