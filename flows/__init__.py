"""Prefect flows: wiring of the ``pipeline`` stages into scheduled, observable runs.

Importing this package switches off everything in Prefect that could call out of the
machine (server analytics, SDK telemetry), before Prefect itself is imported. The same
settings ship in ``prefect.toml`` for the Prefect CLI started from the project folder.
"""

import os

os.environ["DO_NOT_TRACK"] = "1"
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
