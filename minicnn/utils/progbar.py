"""A standalone progress bar drawn like Keras 3's ``Progbar``.

On a terminal (``stream.isatty()``), ``verbose=1`` redraws one line in place (``\\r``) with the
bar, the ETA, the time per step and the running metrics.  On anything else (a file, a pipe, a CI
log) it prints only the final line of each bar, because the carriage-return redraws would turn
into thousands of lines.  ``verbose=2`` prints one summary line when the target is reached.
"""

import math
import re
import sys
import time

import numpy as np

_BOLD, _RESET, _GREEN, _GREY = "\x1b[1m", "\x1b[0m", "\x1b[32m", "\x1b[37m"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _format_time_per_unit(seconds, unit_name):
    if seconds >= 1 or seconds == 0:
        return f" {seconds:.0f}s/{unit_name}"
    if seconds >= 1e-3:
        return f" {seconds * 1e3:.0f}ms/{unit_name}"
    return f" {seconds * 1e6:.0f}us/{unit_name}"


def _format_eta(eta):
    if eta > 3600:
        return "%d:%02d:%02d" % (eta // 3600, (eta % 3600) // 60, eta % 60)
    if eta > 60:
        return "%d:%02d" % (eta // 60, eta % 60)
    return "%ds" % eta


def format_value(value):
    """A metric value as Keras prints it: 4 decimals, or scientific notation when tiny."""
    if isinstance(value, (str, bytes)):
        return f" {value}"
    if np.ndim(value):  # a metric with one value per class or threshold (F1Score, Precision([...]))
        return " [" + " ".join(format_value(v).strip() for v in np.ravel(value)) + "]"
    value = float(value)
    return f" {value:.4f}" if abs(value) > 1e-3 else f" {value:.4e}"


class Progbar:
    """Display a progress bar.

    Args:
        target: total number of steps expected, None if unknown.
        width: bar width in characters.
        verbose: 0 (silent), 1 (live bar), 2 (one line at the end).
        interval: minimum seconds between two redraws (verbose=1 on a terminal).
        stateful_metrics: names of values shown as given rather than averaged over steps.
        unit_name: display name of a step ("step", "sample").
        stream: text stream to write to; default: ``sys.stdout`` at each write.

    >>> import io
    >>> out = io.StringIO()
    >>> bar = Progbar(4, verbose=2, stream=out)
    >>> for i in range(4):
    ...     bar.update(i + 1, [("loss", 0.5)])
    >>> out.getvalue().startswith("4/4 - ")
    True
    """

    def __init__(self, target, width=20, verbose=1, interval=0.05, stateful_metrics=None,
                 unit_name="step", stream=None):
        if target is not None and int(target) < 0:
            raise ValueError(f"Progbar: target must be >= 0 or None, got {target}")
        if verbose not in (0, 1, 2):
            raise ValueError(f"Progbar: verbose must be 0, 1 or 2, got {verbose!r}")
        self.target = None if target is None else int(target)
        self.width = int(width)
        self.verbose = verbose
        self.interval = float(interval)
        self.unit_name = unit_name
        if isinstance(stateful_metrics, (set, frozenset)):
            self.stateful_metrics = stateful_metrics
        else:
            self.stateful_metrics = set(stateful_metrics or ())
        self._stream = stream
        self._dynamic_display = self._is_tty()
        self._values = {}
        self._values_order = []
        self._seen_so_far = 0
        self._start = time.time()
        self._last_update = 0.0
        self._time_at_epoch_start = self._start
        self._time_after_first_step = None
        self._prev_total_width = 0

    @property
    def stream(self):
        return self._stream if self._stream is not None else sys.stdout

    def _is_tty(self):
        isatty = getattr(self.stream, "isatty", None)
        try:
            return bool(isatty and isatty())
        except ValueError:  # closed stream
            return False

    def _write(self, text):
        self.stream.write(text)
        self.stream.flush()

    def _average(self, key):
        value = self._values[key]
        total, count = value
        if key in self.stateful_metrics:
            return total
        return np.mean(np.asarray(total) / max(1, count))

    def _estimate_step_duration(self, current, now):
        # The first step includes one-off costs (allocation, caches), so the per-step time is
        # measured from the end of step 1 once there is more than one step.
        if not current:
            return 0.0
        if self._time_after_first_step is not None and current > 1:
            return (now - self._time_after_first_step) / (current - 1)
        if current == 1 and self._time_after_first_step is None:
            self._time_after_first_step = now
        return (now - self._start) / current

    def update(self, current, values=None, finalize=None):
        """Move the bar to step ``current``; ``values``: list of (name, value) pairs."""
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        for key, value in values or ():
            if key not in self._values_order:
                self._values_order.append(key)
            if key in self.stateful_metrics or isinstance(value, str):
                self._values[key] = [value, 1]
            else:
                # Weight each value by the steps it covers so the shown number is a true mean.
                base = max(current - self._seen_so_far, 1)
                if key not in self._values:
                    self._values[key] = [value * base, base]
                else:
                    self._values[key][0] += value * base
                    self._values[key][1] += base
        self._seen_so_far = current
        now = time.time()
        time_per_unit = self._estimate_step_duration(current, now)
        if self.verbose == 1:
            self._draw_live(current, now, time_per_unit, finalize)
        elif self.verbose == 2 and finalize:
            self._draw_summary(current, now, time_per_unit)
        self._last_update = now

    def _metrics_text(self):
        info = ""
        for key in self._values_order:
            value = self._values[key][0] if isinstance(self._values[key][0], str) else self._average(key)
            info += f" - {key}:" + format_value(value)
        return info

    def _draw_live(self, current, now, time_per_unit, finalize):
        if not self._dynamic_display and not finalize:
            return  # not a terminal: only the final line is written
        if self._dynamic_display and now - self._last_update < self.interval and not finalize:
            return
        color = self._dynamic_display
        if self.target is not None:
            digits = int(math.log10(self.target)) + 1 if self.target > 0 else 1
            count = ("%" + str(digits) + "d/%d") % (current, self.target)
            filled = int(self.width * current / self.target) if self.target else self.width
            filled = min(filled, self.width)
            if color:
                bar = f"{_BOLD}{count}{_RESET} "
                if filled > 0:
                    bar += f"{_GREEN}{'━' * filled}{_RESET}"
                bar += f"{_GREY}{'━' * (self.width - filled)}{_RESET}"
            else:
                bar = f"{count} {'━' * self.width}"
        else:
            bar = "%7d/Unknown" % current
        if self.target is not None and not finalize:
            elapsed = _format_eta(time_per_unit * (self.target - current))
        else:
            elapsed = f"{now - self._start:.0f}s"
        info = f" {_BOLD}{elapsed}{_RESET}" if color else f" {elapsed}"
        info += _format_time_per_unit(time_per_unit, self.unit_name) + self._metrics_text()
        line = bar + info
        if self._dynamic_display:
            visible = len(_ANSI.sub("", line))
            pad = max(self._prev_total_width - visible, 0)
            self._prev_total_width = visible
            message = "\r" + line + " " * pad + ("\n" if finalize else "")
        else:
            message = line + "\n"
        self._write(message)

    def _draw_summary(self, current, now, time_per_unit):
        if self.target is not None:
            digits = int(math.log10(self.target)) + 1 if self.target > 0 else 1
            count = ("%" + str(digits) + "d/%d") % (current, self.target)
        else:
            count = "%d/Unknown" % current
        info = f"{count} - {now - self._start:.0f}s -"
        info += _format_time_per_unit(time_per_unit, self.unit_name) + self._metrics_text()
        self._write(info + "\n")

    def add(self, n, values=None):
        """Advance by ``n`` steps."""
        self.update(self._seen_so_far + n, values)
