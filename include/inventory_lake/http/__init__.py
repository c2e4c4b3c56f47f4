"""A generic JSON API client: retry policy, leaky-bucket pacing and request counters."""
