"""Labels on the autograd nodes that one call recorded: ``check_numerics`` names the layer of a
bad gradient with them, and ``minicnn.utils.profile`` charges each node's backward to its layer."""


def leaves(structure):
    """The items of nested lists, tuples and dicts, in order."""
    if isinstance(structure, (list, tuple)):
        for s in structure:
            yield from leaves(s)
    elif isinstance(structure, dict):
        for s in structure.values():
            yield from leaves(s)
    else:
        yield structure


def tensors(structure):
    """The Tensors (anything with a ``_ctx``) in a nested structure."""
    return (x for x in leaves(structure) if hasattr(x, "_ctx"))


def label_nodes(inputs, outputs, attr, value):
    """Set ``attr`` to ``value`` on every node recorded between ``inputs`` and ``outputs`` that has
    no such label yet: inner calls, labelled first, keep theirs."""
    stop = {id(t._ctx) for t in tensors(inputs) if t._ctx is not None}
    stack = [t._ctx for t in tensors(outputs)]
    seen = set()
    while stack:
        ctx = stack.pop()
        if ctx is None or id(ctx) in seen or id(ctx) in stop or ctx.freed:
            continue
        seen.add(id(ctx))
        if getattr(ctx, attr, None) is None:
            setattr(ctx, attr, value)
        stack.extend(getattr(p, "_ctx", None) for p in (ctx.parents or ()))
