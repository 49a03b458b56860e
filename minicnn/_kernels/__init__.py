"""Compiled kernels: arrays and threads only; nothing here knows about autograd."""
