"""Scores: accuracy, confusion matrices, per-class results, and a table model's scores beside its baseline."""
