"""``keras.ops.math``: special functions and reductions, also in the flat ``minicnn.ops``
namespace."""

from minicnn.ops._reductions import in_top_k, logsumexp, top_k
from minicnn.ops._unary import erf, rsqrt

__all__ = ["erf", "in_top_k", "logsumexp", "rsqrt", "top_k"]
