"""The text table that :func:`minicnn.utils.profile` prints from its rows."""

__all__ = ["profile_table"]

_COLUMNS = (("fwd ms", 8), ("bwd ms", 8), ("total ms", 9), ("step", 6), ("MFLOP", 9),
            ("GFLOP/s", 8), ("% peak", 7))


def _ms(v):
    return "" if v is None else f"{v:.3f}"


def _label(row):
    if row["kind"] == "layer":
        return f"{row['name']} ({row['type']})"
    if row["kind"] == "optimizer":
        return f"optimizer ({row['type']})"
    if row["kind"] == "loss":
        return "loss (+ regularization)"
    return row["name"]


def _cells(row):
    flops = row["fwd_flops"] + row["bwd_flops"]
    return (_ms(row["fwd_ms"]), _ms(row["bwd_ms"]), _ms(row["total_ms"]), f"{100 * row['share']:.1f}%",
            f"{flops / 1e6:.1f}" if flops else "",
            "" if row["gflops"] is None else f"{row['gflops']:.1f}",
            "" if row["peak_fraction"] is None else f"{100 * row['peak_fraction']:.1f}%")


def profile_table(rows, title, line_length=None):
    """``rows`` as returned by ``profile`` (the last one the step total), as text."""
    total = rows[-1]
    numbers = sum(w + 1 for _, w in _COLUMNS)
    name_w = max(24, max(len(_label(r)) for r in rows) + 1)
    if line_length:
        name_w = max(12, min(name_w, line_length - numbers))
    rule = "-" * (name_w + numbers)
    head = f"{'':{name_w}}" + "".join(f" {h:>{w}}" for h, w in _COLUMNS)
    lines = [title,
             f"peak: {total['peak_gflops_per_core']:.1f} GFLOP/s per core x {total['threads']} = "
             f"{total['peak_gflops_per_core'] * total['threads']:.1f} ({total['peak_source']})",
             rule, head, rule]
    for r in rows:
        if r is total:
            lines.append(rule)
        label = _label(r)[:name_w]
        lines.append(f"{label:{name_w}}" + "".join(f" {c:>{w}}" for c, (_, w) in zip(_cells(r), _COLUMNS)))
    lines.append(f"unprofiled step: {total['unprofiled_step_ms']:.3f} ms (mean of the same number of "
                 "steps, timed without the profiler)")
    return "\n".join(lines)
