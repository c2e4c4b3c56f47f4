"""Clients for the source APIs: Haravan Omni (inventory adjustments) and Stocky v2."""
