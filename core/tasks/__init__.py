"""Tasks: what differs between training on images, MNIST and a table."""
