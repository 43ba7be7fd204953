"""The Grafana dashboards (``*.json``, written by ``generate.py``), shipped as package data so that an installed
agent (the container image, a pip install) finds them for ``farmwatch dashboards push``."""
