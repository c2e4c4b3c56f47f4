"""The Airflow UI page "Inventory lake": what the lake holds and what the pushes did.

Plain functions gather the page's data from the lake (`lake_status`, `chart_series`,
`push_batches`), `page` renders it, and `app` serves it behind Airflow's login; the plugin in
`plugins/` only registers the app and its menu entry.
"""
