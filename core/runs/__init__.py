"""Runs and jobs: the run folder store, its schema, progress, replay records and background jobs."""
