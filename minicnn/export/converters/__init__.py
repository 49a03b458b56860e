"""One small converter per layer family, each registered in :mod:`minicnn.export.registry`'s
table by importing its module here."""

from minicnn.export.converters import (convolution, core, merging, normalization,  # noqa: F401
                                       preprocessing, reshaping)
