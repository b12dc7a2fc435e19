"""Tooling beside the product, not inside it: the sample generator (``sample/``), the benchmark (``bench/``) and the
departments' API stand-in (``api_server.py``). Installed with the product and reached through its CLI
(``jilin-pipelines sample | bench | serve-sources``); the pipeline itself (``jilin_pipelines``) imports none of it."""
