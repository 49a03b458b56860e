"""``model.summary()``: Keras 3's table, drawn with the same box characters, column widths and
wrapping as Keras' rich table (without depending on rich).

>>> import minicnn
>>> from minicnn import layers
>>> minicnn.layers.clear_session()
>>> model = minicnn.Sequential([minicnn.Input((4,)), layers.Dense(2)])
>>> model.summary(line_length=60)
Model: "sequential"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━┓
┃ Layer (type)             ┃ Output Shape      ┃   Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━┩
│ dense (Dense)            │ (None, 2)         │        10 │
└──────────────────────────┴───────────────────┴───────────┘
 Total params: 10 (40.00 B)
 Trainable params: 10 (40.00 B)
 Non-trainable params: 0 (0.00 B)
"""

import math
import re
import shutil

import numpy as np

from minicnn.layers.node import format_shape

__all__ = ["print_summary", "summary_text", "readable_memory_size", "column_widths"]


def readable_memory_size(nbytes):
    """Keras' size string: 1024-based units with two decimals ("879.04 KB")."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if nbytes / 1024 < 1:
            return f"{nbytes:.2f} {unit}"
        nbytes /= 1024
    return f"{nbytes:.2f} PB"


def _ratio_reduce(total, maximums, values):
    # rich.ratio_reduce with equal ratios: spread ``total`` over the columns, left to right.
    ratios = [1 if m else 0 for m in maximums]
    total_ratio = sum(ratios)
    remaining, out = total, []
    for ratio, maximum, value in zip(ratios, maximums, values):
        if ratio and total_ratio > 0:
            distributed = min(maximum, round(ratio * remaining / total_ratio))
            out.append(value - distributed)
            remaining -= distributed
            total_ratio -= ratio
        else:
            out.append(value)
    return out


def column_widths(line_length, positions):
    """Outer widths (padding included) of the columns of a table ``line_length`` wide."""
    widths, current = [], 0
    for pos in positions:
        w = int(pos * line_length) - current
        if w < 4:
            raise ValueError("line_length is too small to print the summary")
        widths.append(w)
        current += w
    padded = [w + 2 for w in widths]
    available = line_length - (len(widths) + 1)
    if sum(padded) > available:
        reduced = _ratio_reduce(sum(padded) - available, padded, padded)
        padded = [min(p, r) for p, r in zip(padded, reduced)]
    return padded


def _wrap(text, width):
    """Greedy word wrap; a word longer than the line is cut with an ellipsis (rich's rule)."""
    lines, line = [], ""
    for word in re.findall(r"\S+\s*", text) or [""]:
        if line and len(line) + len(word.rstrip()) > width:
            lines.append(line.rstrip())
            line = ""
        line += word
    lines.append(line.rstrip())
    return [l if len(l) <= width else l[:width - 1] + "…" for l in lines]


def _align(text, width, how):
    if how == "right":
        return text.rjust(width)
    if how == "center":  # rich: the odd space goes to the right
        left = (width - len(text)) // 2
        return " " * left + text + " " * (width - len(text) - left)
    return text.ljust(width)


def _render(header, rows, widths, align):
    def cells_to_lines(cells, sep):
        wrapped = [_wrap(c, w - 2) for c, w in zip(cells, widths)]
        height = max(len(w) for w in wrapped)
        out = []
        for i in range(height):
            parts = []
            for lines, w, a in zip(wrapped, widths, align):
                t = lines[i] if i < len(lines) else ""
                parts.append(" " + _align(t, w - 2, a) + " ")
            out.append(sep + sep.join(parts) + sep)
        return out

    lines = ["┏" + "┳".join("━" * w for w in widths) + "┓"]
    lines += cells_to_lines(header, "┃")
    lines.append("┡" + "╇".join("━" * w for w in widths) + "┩")
    for i, row in enumerate(rows):
        if i:
            lines.append("├" + "┼".join("─" * w for w in widths) + "┤")
        lines += cells_to_lines(row, "│")
    lines.append("└" + "┴".join("─" * w for w in widths) + "┘")
    return lines


def _format_output_shape(shape):
    if shape is None:
        return "?"
    if isinstance(shape, tuple) and all(d is None or isinstance(d, (int, np.integer)) for d in shape):
        return format_shape(shape)
    flat = _flat_shapes(shape)
    if len(flat) == 1:
        return format_shape(flat[0])
    return str(_map_shapes(shape)).replace("'", "")


def _flat_shapes(s):
    if isinstance(s, tuple) and all(d is None or isinstance(d, (int, np.integer)) for d in s):
        return [s]
    if isinstance(s, dict):
        return [x for v in s.values() for x in _flat_shapes(v)]
    return [x for v in s for x in _flat_shapes(v)]


def _map_shapes(s):
    if isinstance(s, tuple) and all(d is None or isinstance(d, (int, np.integer)) for d in s):
        return format_shape(s)
    if isinstance(s, dict):
        return {k: _map_shapes(v) for k, v in s.items()}
    return [_map_shapes(v) for v in s]


def _count(weights):
    return int(sum(math.prod(w.shape) for w in weights))


def _nbytes(weights):
    seen = {id(w): w for w in weights}
    return float(sum(math.prod(w.shape) * np.dtype(w.dtype).itemsize for w in seen.values()))


def _is_sequential_like(model):
    from minicnn.models.functional import Functional
    if not isinstance(model, Functional):
        return True
    nodes = []
    for level in model._nodes_by_depth.values():
        if len(level) > 1 or (len(level) == 1 and len(level[0].input_tensors) > 1):
            return False
        nodes += level
    ids = {id(n) for n in nodes}
    for layer in model.layers:
        if sum(id(n) in ids for n in layer._inbound_nodes) > 1:
            return False
    return True


def _connections(model, layer):
    parts = []
    for node in model._model_nodes(layer):
        for t in node.input_tensors:
            src, node_index, tensor_index = t._keras_history
            parts.append(f"{src.name}[{node_index}][{tensor_index}]")
    return ", ".join(parts) or "-"


def summary_text(model, line_length=None, positions=None, show_trainable=False, layer_range=None):
    """The summary as one string (what :func:`print_summary` prints)."""
    sequential_like = _is_sequential_like(model)
    if sequential_like:
        default_length, default_pos = 88, [0.45, 0.80, 1.0]
        header, align = ["Layer (type)", "Output Shape", "Param #"], ["left", "left", "right"]
    else:
        default_length, default_pos = 108, [0.3, 0.56, 0.74, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
        align = ["left", "left", "right", "left"]
    positions = list(positions or default_pos)
    if show_trainable:
        default_length += 12
        positions = [p * 0.90 for p in positions] + [1.0]
        header.append("Trainable")
        align.append("center")
    # Like Keras: as wide as the terminal allows (80 columns when not a terminal).
    default_length = min(default_length, shutil.get_terminal_size().columns - 4)
    widths = column_widths(line_length or default_length, positions)

    layers = model.layers
    lo, hi = _layer_range(layers, layer_range)
    rows = []
    for layer in layers[lo:hi]:
        name = f"{layer.name} ({type(layer).__name__})"
        params = (f"{layer.count_params():,}" if layer.built else "0 (unbuilt)")
        row = [name, _format_output_shape(model._summary_output_shape(layer)), params]
        if not sequential_like:
            row.append(_connections(model, layer))
        if show_trainable:
            row.append(("Y" if layer.trainable else "N") if layer.weights else "-")
        rows.append(row)

    trainable, non_trainable = model.trainable_weights, model.non_trainable_weights
    optimizer = _optimizer_params(model)
    lines = [f'Model: "{model.name}"'] + _render(header, rows, widths, align)
    total_count = _count(trainable) + _count(non_trainable) + (optimizer[0] if optimizer else 0)
    total_bytes = _nbytes(trainable) + _nbytes(non_trainable) + (optimizer[1] if optimizer else 0)
    lines += [
        f" Total params: {total_count:,} ({readable_memory_size(total_bytes)})",
        f" Trainable params: {_count(trainable):,} ({readable_memory_size(_nbytes(trainable))})",
        f" Non-trainable params: {_count(non_trainable):,} "
        f"({readable_memory_size(_nbytes(non_trainable))})",
    ]
    if optimizer:
        lines.append(f" Optimizer params: {optimizer[0]:,} ({readable_memory_size(optimizer[1])})")
    return "\n".join(lines) + "\n"


def _optimizer_params(model):
    """(count, bytes) of the optimizer's variables once it is built (after the first training
    step), else None.  As Keras counts them: the iteration counter (int64), the learning rate
    (one float32, unless it is a schedule) and every slot (momentum, velocity, ...)."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not getattr(optimizer, "built", False):
        return None
    slots = optimizer.variables[1:]  # after iterations: averages, accumulators, slots...
    learning_rate = 0 if callable(getattr(optimizer, "_learning_rate", None)) else 1  # a schedule is no variable
    return (1 + learning_rate + _count(slots),
            np.dtype(np.int64).itemsize + 4 * learning_rate + _nbytes(slots))


def _layer_range(layers, layer_range):
    if layer_range is None:
        return 0, len(layers)
    if len(layer_range) != 2 or not all(isinstance(s, str) for s in layer_range):
        raise ValueError(f"layer_range must be two layer-name patterns, got {layer_range!r}")
    lo = [i for i, l in enumerate(layers) if re.match(layer_range[0], l.name)]
    hi = [i for i, l in enumerate(layers) if re.match(layer_range[1], l.name)]
    if not lo or not hi:
        raise ValueError(f"layer_range {layer_range} matches no layer names")
    return min(lo), max(hi) + 1


def print_summary(model, line_length=None, positions=None, print_fn=None, show_trainable=False,
                  layer_range=None):
    """Print the summary (``print_fn`` gets the whole text once, as in Keras 3)."""
    text = summary_text(model, line_length, positions, show_trainable, layer_range)
    if print_fn is None:
        print(text, end="")
    else:
        print_fn(text)
