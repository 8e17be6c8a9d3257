"""The build behind `make package` and `make deploy` (see scripts/package.py, scripts/deploy.py)."""
