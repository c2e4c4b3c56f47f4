"""Bulk set-adjustments: approved staging files in the lake sent to Haravan exactly once.

discovery → reading → validation → stock (current quantities) → planning + guard → ledger
→ sending → audit + moves; `tasks` holds the task bodies the DAG calls.
"""
