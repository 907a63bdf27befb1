"""The waste ledger: readings and their plausibility rules, the monthly account, reports.

Pure functions (docs/ledger.md); the CLI (``api/commands/ledger.py``) and the service
(``api/services/readings.py``, ``api/services/ledger.py``) do the I/O.
"""
