"""Scheduling: schedule definitions and their fire times, cron in words, the per-connection run lock,
the catch-up decision and the APScheduler worker process that ties them to the state store."""
