"""The waste ledger: readings and their plausibility rules, the monthly account, reports.

Pure functions (docs/ledger.md); the CLI (``api/commands/ledger.py``) and the service
(``api/services/readings.py``, ``api/services/ledger.py``) do the I/O.

The ledger is about digesters by nature (their feedstock, gas and the gensets and grids whose
energy it displaces) and reads those device kinds from the site directly; it consumes
readings, not plans, so it stays outside the device contract (docs/formulation.md, *The
device contract*).
"""
