"""Data a person brings: images, folders of class images, MNIST, zip imports and CSV tables."""
