"""``Functional``: a model defined by a graph of layer calls, ``Model(inputs, outputs)``.

>>> import minicnn
>>> minicnn.layers.clear_session()
>>> from minicnn import layers
>>> inp = minicnn.Input((8,))
>>> h = layers.Dense(8, activation="relu")(inp)
>>> out = layers.Add()([h, layers.Dense(8)(inp)])
>>> model = minicnn.Model(inp, out)
>>> [l.name for l in model.layers]
['input_layer', 'dense', 'dense_1', 'add']
>>> model(minicnn.Tensor([[1.0] * 8])).shape
(1, 8)
"""

import collections

from minicnn.autograd import Tensor
from minicnn.layers._shapes import _pack_shapes, flatten_shapes_list
from minicnn.layers._weights import structure_changed as _structure_changed
from minicnn.layers.input_layer import InputLayer
from minicnn.layers.node import KerasTensor, flatten, map_structure
from minicnn.layers._context import call_state
from minicnn.models import _fusion
from minicnn.models.model import Model
from minicnn.serialization import deserialize, register_builtin, serialize

__all__ = ["Functional"]


def _training(training):
    """The training flag the model's layers will see (an enclosing call's when none is passed)."""
    if training is None and call_state.training:
        return call_state.training[-1]
    return training


@register_builtin("minicnn.models")
class Functional(Model):
    """A graph model; construct it with ``minicnn.Model(inputs, outputs)``."""

    def __init__(self, inputs, outputs, name=None, trainable=True, **kwargs):
        super().__init__(name=name, trainable=trainable, **kwargs)
        for what, struct in (("inputs", inputs), ("outputs", outputs)):
            bad = [t for t in flatten(struct) if not isinstance(t, KerasTensor)]
            if bad or not flatten(struct):
                raise TypeError(f"Model: {what} must be symbolic tensors (from minicnn.Input and "
                                f"layer calls), got {bad[0] if bad else struct!r}")
        for t in flatten(inputs):
            if not isinstance(t._keras_history[0], InputLayer):
                raise ValueError(f"Model: every input must come from minicnn.Input(); "
                                 f"{t.name!r} was produced by layer {t._keras_history[0].name!r}")
        if isinstance(inputs, tuple):
            inputs = list(inputs)
        if isinstance(outputs, tuple):
            outputs = list(outputs)
        s = object.__setattr__
        s(self, "_inputs_struct", inputs)
        s(self, "_outputs_struct", outputs)
        s(self, "_input_tensors", flatten(inputs))
        s(self, "_output_tensors", flatten(outputs))
        self._map_graph()
        s(self, "built", True)
        s(self, "_build_input_shape", map_structure(lambda t: t.shape, inputs))

    # -- graph ----------------------------------------------------------------------------
    def _map_graph(self):
        """Topological order of the nodes, their depths, and the layers ordered like Keras."""
        input_ids = {id(t) for t in self._input_tensors}
        finished, in_progress, order, layer_index = set(), set(), [], {}

        def visit(tensor):
            layer, node_index, _ = tensor._keras_history
            node = layer._inbound_nodes[node_index]
            if id(node) in finished:
                return
            if id(node) in in_progress:
                raise ValueError(f"the graph has a cycle at layer {layer.name!r}")
            layer_index.setdefault(layer, len(layer_index))
            in_progress.add(id(node))
            if id(tensor) not in input_ids:
                if node.is_input:
                    raise ValueError(
                        f"graph disconnected: cannot reach input {tensor.name!r} of layer "
                        f"{layer.name!r} from the model's inputs "
                        f"{[t.name for t in self._input_tensors]}")
                for t in node.input_tensors:
                    visit(t)
            finished.add(id(node))
            in_progress.discard(id(node))
            order.append(node)

        for t in self._output_tensors:
            visit(t)
        node_depth, layer_depth = {}, {}
        for node in reversed(order):
            depth = max(node_depth.setdefault(id(node), 0), layer_depth.get(node.layer, 0))
            layer_depth[node.layer] = depth
            node_depth[id(node)] = depth
            for parent in node.parent_nodes:
                node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))
        for t in self._input_tensors:
            layer = t._keras_history[0]
            if layer not in layer_depth:  # an input no output depends on
                layer_depth[layer] = 0
                layer_index[layer] = -1
                node_depth[id(layer._inbound_nodes[0])] = 0
                order.insert(0, layer._inbound_nodes[0])
        by_depth = collections.defaultdict(list)
        for node in order:
            by_depth[node_depth[id(node)]].append(node)
        layers_by_depth = collections.defaultdict(list)
        for layer, d in layer_depth.items():
            layers_by_depth[d].append(layer)
        layers = []
        for d in sorted(layers_by_depth, reverse=True):
            layers.extend(sorted(layers_by_depth[d], key=lambda l: layer_index[l]))
        names = [l.name for l in layers]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"all layer names in a model must be unique; repeated: {dup}")
        s = object.__setattr__
        s(self, "_nodes", order)
        s(self, "_node_ids", {id(n) for n in order})
        s(self, "_nodes_by_depth", {d: by_depth[d] for d in sorted(by_depth, reverse=True)})
        s(self, "_layers", layers)
        _structure_changed()

    def _model_nodes(self, layer):
        return [n for n in layer._inbound_nodes if id(n) in self._node_ids]

    @property
    def inputs(self):
        return list(self._input_tensors)

    @property
    def outputs(self):
        return list(self._output_tensors)

    @property
    def input(self):
        return self._inputs_struct

    @property
    def output(self):
        return self._outputs_struct

    @property
    def input_shape(self):
        return map_structure(lambda t: t.shape, self._inputs_struct)

    @property
    def output_shape(self):
        return map_structure(lambda t: t.shape, self._outputs_struct)

    @property
    def output_names(self):
        if isinstance(self._outputs_struct, dict):
            return list(self._outputs_struct)
        return [t._keras_history[0].name for t in self._output_tensors]

    @property
    def input_names(self):
        if isinstance(self._inputs_struct, dict):
            return list(self._inputs_struct)
        return [t._keras_history[0].name for t in self._input_tensors]

    # -- running --------------------------------------------------------------------------
    def _flat_call_inputs(self, inputs):
        n = len(self._input_tensors)
        if isinstance(inputs, dict):
            if isinstance(self._inputs_struct, dict):
                keys = list(self._inputs_struct)
            else:
                keys = self.input_names
            missing = [k for k in keys if k not in inputs]
            if missing:
                raise ValueError(f'model "{self.name}": missing inputs {missing}; expected keys {keys}, '
                                 f"got {sorted(inputs)}")
            flat = [inputs[k] for k in keys]
        elif isinstance(inputs, (list, tuple)) and n > 1:
            flat = list(inputs)
        elif isinstance(inputs, (list, tuple)) and n == 1 and len(inputs) == 1:
            flat = list(inputs)
        else:
            flat = [inputs]
        if len(flat) != n:
            raise ValueError(f'model "{self.name}" expects {n} input(s) '
                             f"{[t.shape for t in self._input_tensors]}, got {len(flat)}")
        for i, (kt, x) in enumerate(zip(self._input_tensors, flat)):
            shape = tuple(getattr(x, "shape", ()))
            ok = len(shape) == len(kt.shape) and all(
                e is None or e == g for e, g in zip(kt.shape, shape))
            if not ok:
                raise ValueError(f'input {i} ("{kt.name}") of model "{self.name}" expects shape '
                                 f"{kt.shape}, got {shape}")
        return flat

    def call(self, inputs, training=None):
        values = {id(kt): x for kt, x in zip(self._input_tensors, self._flat_call_inputs(inputs))}
        def value(t):
            return values[id(t)] if isinstance(t, KerasTensor) else t

        def run(node):
            # Per-layer overhead dominates small batches: a node's arguments are looked up directly
            # when they are tensors themselves, and walked as structures only when nested.
            args = [values[id(a)] if type(a) is KerasTensor else map_structure(value, a)
                    for a in node.call_args]
            kwargs = map_structure(value, node.call_kwargs) if node.call_kwargs else {}
            outs = node.layer(*args, **kwargs)
            if type(node.outputs) is KerasTensor and type(outs) is Tensor:
                values[id(node.outputs)] = outs
            else:
                for kt, v in zip(node.output_tensors, flatten(outs)):
                    values[id(kt)] = v

        plan = _fusion.functional_plan(self) if _fusion.active(self, _training(training)) else {}
        for node in self._nodes:
            if node.is_input:
                continue
            if id(node) in plan:  # a chain's head runs the chain; its other nodes run with it
                entry = plan[id(node)]
                if entry is None:
                    continue
                chain, nodes = entry
                arg = node.call_args[0]
                y = chain.run(values[id(arg)] if type(arg) is KerasTensor else map_structure(value, arg))
                if y is not None:
                    values[id(nodes[-1].outputs)] = y
                else:
                    for n in nodes:
                        run(n)
                continue
            run(node)
        return map_structure(lambda kt: values[id(kt)], self._outputs_struct)

    def compute_output_shape(self, input_shape):
        flat_in = flatten_shapes_list(input_shape)
        if len(flat_in) != len(self._input_tensors):
            raise ValueError(f"expected {len(self._input_tensors)} input shape(s), got {input_shape}")
        shapes = {id(kt): s for kt, s in zip(self._input_tensors, flat_in)}

        def placeholder(t):
            return KerasTensor(shapes[id(t)], t.dtype) if isinstance(t, KerasTensor) else t

        for node in self._nodes:
            if node.is_input:
                continue
            args = map_structure(placeholder, node.call_args)
            out = node.layer._output_shapes(args[0], args[1:],
                                            map_structure(placeholder, node.call_kwargs))
            for kt, s in zip(node.output_tensors, flatten_shapes_list(out)):
                shapes[id(kt)] = s
        flat = [shapes[id(kt)] for kt in self._output_tensors]
        if isinstance(self._outputs_struct, KerasTensor):
            return flat[0]
        return _pack_shapes(map_structure(lambda t: t.shape, self._outputs_struct), flat)

    def _summary_output_shape(self, layer):
        nodes = self._model_nodes(layer)
        if not nodes:
            return None
        return map_structure(lambda t: t.shape, nodes[-1].outputs)

    # -- config ---------------------------------------------------------------------------
    def _ref(self, t):
        layer, node_index, tensor_index = t._keras_history
        local = [i for i, n in enumerate(layer._inbound_nodes) if id(n) in self._node_ids]
        return [layer.name, local.index(node_index), tensor_index]

    def get_config(self):
        layers = []
        for layer in self.layers:
            entry = serialize(layer)
            entry.pop("build_config", None)
            entry["name"] = layer.name
            entry["inbound_nodes"] = [] if isinstance(layer, InputLayer) else [
                {"args": serialize(map_structure(self._arg_config, list(node.call_args))),
                 "kwargs": serialize(map_structure(self._arg_config, node.call_kwargs))}
                for node in self._model_nodes(layer)]
            layers.append(entry)
        return {
            "name": self.name,
            "trainable": self.trainable,
            "layers": layers,
            "input_layers": map_structure(self._ref, self._inputs_struct),
            "output_layers": map_structure(self._ref, self._outputs_struct),
        }

    def _arg_config(self, t):
        if not isinstance(t, KerasTensor):
            return t
        return {"class_name": "__keras_tensor__",
                "config": {"shape": list(t.shape), "dtype": t.dtype, "keras_history": self._ref(t)}}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        created, outputs, pending = {}, {}, {}
        for entry in config["layers"]:
            layer = deserialize({k: entry[k] for k in ("module", "class_name", "config",
                                                       "registered_name") if k in entry},
                                custom_objects=custom_objects)
            created[entry["name"]] = layer
            pending[entry["name"]] = list(entry.get("inbound_nodes", []))
            outputs[entry["name"]] = [layer.output] if isinstance(layer, InputLayer) else []

        def resolve(ref):
            name, node_index, tensor_index = ref
            produced = outputs[name]
            if node_index >= len(produced):
                raise KeyError(name)
            return flatten(produced[node_index])[tensor_index]

        def decode(arg):
            if isinstance(arg, dict) and arg.get("class_name") == "__keras_tensor__":
                return resolve(arg["config"]["keras_history"])
            if isinstance(arg, dict):
                return {k: decode(v) for k, v in arg.items()}
            if isinstance(arg, list):
                return [decode(a) for a in arg]
            return arg

        progress = True
        while progress and any(pending.values()):
            progress = False
            for entry in config["layers"]:
                name = entry["name"]
                while pending[name]:
                    node = pending[name][0]
                    try:
                        args, kwargs = decode(node["args"]), decode(node.get("kwargs", {}))
                    except KeyError:
                        break
                    outputs[name].append(created[name](*args, **kwargs))
                    pending[name].pop(0)
                    progress = True
        if any(pending.values()):
            raise ValueError(f"model config cannot be rebuilt: unresolved inputs for layers "
                             f"{[k for k, v in pending.items() if v]}")

        def refs(struct):
            if isinstance(struct, list) and len(struct) == 3 and isinstance(struct[0], str):
                return resolve(struct)
            if isinstance(struct, dict):
                return {k: refs(v) for k, v in struct.items()}
            return [refs(s) for s in struct]
        return cls(refs(config["input_layers"]), refs(config["output_layers"]),
                   name=config.get("name"), trainable=config.get("trainable", True))

