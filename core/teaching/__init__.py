"""Teaching: what helps people see and read what a network does.

- ``filters`` + ``learn``: convolution and pooling on one image, as Keras computes them; Learn's pipeline.
- ``diagnosis`` + ``remedy``: learning curves in plain words, and the one change a finding suggests.
- ``compare``: what differs between runs.
- ``race`` + ``race_results``: architecture races, started and read back.
- ``api_compare/``: the same MNIST CNN in low-level TensorFlow, Keras and Keras with XLA.
"""
