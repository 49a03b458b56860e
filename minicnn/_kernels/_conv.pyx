"""Convolution kernels (issue 3): being written."""
