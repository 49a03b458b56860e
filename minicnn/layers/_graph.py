"""A layer called on symbolic tensors (``minicnn.Input`` and what layers return from them):
the output shapes, the graph ``Node`` it records, ``input`` / ``output``."""

import numpy as np

from minicnn.autograd import Tensor, no_grad
from minicnn.layers._build import call_shapes, shape_arguments
from minicnn.layers._shapes import (_flatten_shapes, _is_single_shape, _pack_shapes, _shape_str,
                                    _shape_tree, map_shapes)
from minicnn.layers.node import KerasTensor, Node, flatten, map_structure
from minicnn.variables import name_scope

__all__ = ["SymbolicCalls", "is_tensor", "shape_of", "has_tensors"]


def is_tensor(x):
    return isinstance(x, (KerasTensor, Tensor))


def shape_of(t):
    return tuple(t.shape)


def has_tensors(structure):
    return any(is_tensor(t) for t in flatten(structure))


class SymbolicCalls:
    """The graph half of :class:`minicnn.layers.Layer`."""

    def _symbolic_call(self, inputs, args, kwargs):
        try:
            with name_scope(self.name, caller=self):
                self._build_for_call(inputs, args, kwargs)
                out_shapes = self._output_shapes(inputs, args, kwargs)
        except (ValueError, TypeError) as e:
            shapes = map_structure(lambda t: t.shape if is_tensor(t) else t, inputs)
            if args or has_tensors(kwargs):
                shapes = call_shapes(type(self).call, self, (inputs,) + tuple(args), kwargs,
                                     is_tensor, shape_of)
            raise type(e)(
                f'layer "{self.name}" ({type(self).__name__}) cannot take input of shape '
                f"{_shape_str(shapes)}: {e}") from None
        node_index = len(self._inbound_nodes)
        flat_shapes = _flatten_shapes(out_shapes)
        outs = [KerasTensor(s, self.dtype, name=f"{self.name}_output_{i}" if i else self.name,
                            history=(self, node_index, i)) for i, s in enumerate(flat_shapes)]
        outputs = outs[0] if _is_single_shape(out_shapes) else _pack_shapes(out_shapes, outs)
        self._inbound_nodes.append(Node(self, (inputs,) + tuple(args), kwargs, outputs))
        return outputs

    def _output_shapes(self, inputs, args, kwargs):
        """Output shape structure of a call on symbolic arguments."""
        if not args and not has_tensors(kwargs):
            return self.compute_output_shape(map_structure(shape_of, inputs))
        if type(self).compute_output_shape is not SymbolicCalls.compute_output_shape:
            shapes = call_shapes(type(self).call, self, (inputs,) + tuple(args), kwargs,
                                 is_tensor, shape_of)
            return self.compute_output_shape(
                **shape_arguments(type(self).compute_output_shape, shapes, self))
        return self._shapes_by_running((inputs,) + tuple(args), kwargs)

    def compute_output_shape(self, input_shape):
        """Output shape for ``input_shape``; the default runs ``call`` on zeros to find out."""
        placeholders = map_shapes(lambda s: KerasTensor(s, self.dtype), _shape_tree(input_shape))
        return self._shapes_by_running((placeholders,), {})

    def _shapes_by_running(self, args, kwargs):
        """Run the layer on zeros shaped like the KerasTensors in ``args``/``kwargs`` (size 1 for
        unknown dimensions) and return the outputs' shapes, batch dimension None if unknown."""

        def zeros(t):
            if not is_tensor(t):
                return t
            return np.zeros(tuple(1 if d is None else d for d in t.shape), dtype=t.dtype)

        kwargs = dict(map_structure(zeros, kwargs), training=False)
        with no_grad():
            out = self(*map_structure(zeros, args), **kwargs)
        batch_unknown = any(t.shape and t.shape[0] is None
                            for t in flatten((args, kwargs)) if is_tensor(t))
        return map_structure(
            lambda t: (None,) + tuple(t.shape[1:]) if batch_unknown else tuple(t.shape), out)

    @property
    def input(self):
        """The (first) symbolic input: the first argument's structure, or a list of the input
        tensors when the layer was called with several tensor arguments."""
        node = self._first_node("input")
        if len(node.call_args) == 1 and not has_tensors(node.call_kwargs):
            return node.call_args[0]
        return list(node.input_tensors)

    @property
    def output(self):
        return self._first_node("output").outputs

    def _first_node(self, what):
        if not self._inbound_nodes:
            raise AttributeError(f"layer {self.name!r} has never been called on a symbolic input, "
                                 f"so it has no {what}")
        return self._inbound_nodes[0]
