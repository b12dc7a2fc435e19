"""What the platform serves from the scenarios' decisions, above them in the layers: the lineage inquiries behind
``jilin-pipelines lineage`` (``lineage.py``: a decision back to its delivery rows, a person's uses, a scenario's
upstream graph) and the pseudonymised exports for consumers (``export.py``). No Dagster here."""
