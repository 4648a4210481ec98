"""Serving a trained model: loading, preparing inputs, "I don't know", explanations, the shipped model."""
