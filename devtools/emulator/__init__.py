"""A local HTTP emulator of the Haravan Omni inventory-adjustment API and the Stocky v2 API.

Run it as ``python -m devtools.emulator``; see ``cli`` for the options and
``admin_api`` for the test-control endpoints.
"""
