"""The table task: a dense network on a CSV, from its data to its predictions."""
