"""Teaching: convolution on real images, learning curves in plain words, races and API comparisons."""
