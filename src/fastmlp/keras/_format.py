"""The text Keras 3 prints: ``summary()``'s table and ``fit``'s progress lines.

Layouts copied from Keras 3.15 (keras/src/utils/summary_utils.py, which
draws with rich, and keras/src/utils/progbar.py), checked against its
recorded output in tests/test_keras_models.py.
"""
import math

# summary(): three columns of these inner widths (one space of padding
# each side included), rich's "heavy head" box.
_WIDTHS = (33, 24, 15)


def readable_memory_size(n_bytes):
    """Keras's byte units: ``'1.02 MB'``, ``'256.00 B'`` (powers of 1024).

    Parameters
    ----------
    n_bytes : float

    Returns
    -------
    str
    """
    for unit in ["B", "KB", "MB", "GB", "TB", "PB"]:
        if n_bytes / 1024 < 1:
            return f"{n_bytes:.2f} {unit}"
        n_bytes /= 1024
    return f"{n_bytes:.2f} PB"


def _wrap(text, width):
    """rich's word wrap: whole words per line, a longer word folded."""
    lines, line = [], ""
    for word in text.split(" "):
        while len(word) > width:
            if line:
                lines.append(line)
                line = ""
            lines.append(word[:width])
            word = word[width:]
        if not line:
            line = word
        elif len(line) + 1 + len(word) <= width:
            line += " " + word
        else:
            lines.append(line)
            line = word
    lines.append(line)
    return lines


def _row(cells, aligns, left="│", mid="│", right="│"):
    wrapped = [_wrap(c, w - 2) for c, w in zip(cells, _WIDTHS)]
    out = []
    for i in range(max(len(w) for w in wrapped)):
        parts = []
        for lines, w, align in zip(wrapped, _WIDTHS, aligns):
            text = lines[i] if i < len(lines) else ""
            parts.append(" " + (text.rjust(w - 2) if align == "right" else text.ljust(w - 2))
                         + " ")
        out.append(left + mid.join(parts) + right)
    return out


def _rule(left, mid, right, fill):
    return left + mid.join(fill * w for w in _WIDTHS) + right


def summary_text(model_name, rows, trainable, non_trainable, optimizer_params=None):
    """The text of ``summary()``.

    Parameters
    ----------
    model_name : str
    rows : list of (str, str, str)
        Per layer: ``'name (Class)'``, the output shape (``'(None, 32)'`` or
        ``'?'``), the parameter count (``'1,344'`` or ``'0 (unbuilt)'``).
    trainable, non_trainable : int
    optimizer_params : int or None, default=None
        Printed (and counted in Total) once the optimizer is built.

    Returns
    -------
    str
        The lines, each ending with a newline, as ``print`` of Keras's.
    """
    lines = [f'Model: "{model_name}"', _rule("┏", "┳", "┓", "━")]
    lines += _row(("Layer (type)", "Output Shape", "Param #"), ("left", "left", "right"),
                  "┃", "┃", "┃")
    lines.append(_rule("┡", "╇", "┩", "━"))
    for i, row in enumerate(rows):
        if i:
            lines.append(_rule("├", "┼", "┤", "─"))
        lines += _row(row, ("left", "left", "right"))
    lines.append(_rule("└", "┴", "┘", "─"))
    total = trainable + non_trainable + (optimizer_params or 0)
    lines.append(f" Total params: {total:,} ({readable_memory_size(total * 4)})")
    lines.append(f" Trainable params: {trainable:,} ({readable_memory_size(trainable * 4)})")
    lines.append(f" Non-trainable params: {non_trainable:,} "
                 f"({readable_memory_size(non_trainable * 4)})")
    if optimizer_params is not None:
        lines.append(f" Optimizer params: {optimizer_params:,} "
                     f"({readable_memory_size(optimizer_params * 4)})")
    return "\n".join(lines) + "\n"


def format_time(seconds_per_unit, unit="step"):
    """Keras's per-step time: ``' 35ms/step'``, ``' 987us/step'``, ``' 4s/step'``.

    Parameters
    ----------
    seconds_per_unit : float
    unit : str, default='step'

    Returns
    -------
    str
        With its leading space, as Keras builds it.
    """
    if seconds_per_unit >= 1 or seconds_per_unit == 0:
        return f" {seconds_per_unit:.0f}s/{unit}"
    if seconds_per_unit >= 1e-3:
        return f" {seconds_per_unit * 1e3:.0f}ms/{unit}"
    return f" {seconds_per_unit * 1e6:.0f}us/{unit}"


def _value(v, verbose):
    # Keras's bar (verbose=1) uses abs(); its verbose=2 line does not
    big = abs(v) > 1e-3 if verbose == 1 else v > 1e-3
    return f" {v:.4f}" if big else f" {v:.4e}"


def order_logs(logs):
    """The order Keras prints and stores the logs: names sorted, training
    before ``val_``.

    Parameters
    ----------
    logs : dict

    Returns
    -------
    list of str
    """
    train = sorted(k for k in logs if not k.startswith("val_"))
    return train + sorted(k for k in logs if k.startswith("val_"))


def progress_line(steps, seconds, logs, verbose, width=20):
    """The last line Keras prints for an epoch (or ``evaluate`` / ``predict``).

    Parameters
    ----------
    steps : int
        Batches (the line shows ``steps/steps``).
    seconds : float
        The epoch's duration.
    logs : dict
        Name -> value, printed in :func:`order_logs`'s order.
    verbose : {1, 2}
        1: the bar's final state (without its colour codes), 2: Keras's
        one line per epoch.
    width : int, default=20
        The bar's width.

    Returns
    -------
    str
        Without a trailing newline.
    """
    digits = int(math.log10(steps)) + 1 if steps > 0 else 1
    count = f"%{digits}d/%d" % (steps, steps)
    per_step = format_time(seconds / steps if steps else 0.0)
    values = "".join(f" - {k}:{_value(logs[k], verbose)}" for k in order_logs(logs))
    if verbose == 2:
        return f"{count} - {seconds:.0f}s -{per_step}{values}"
    return f"{count} {'━' * width} {seconds:.0f}s{per_step}{values}"


def output_shape_text(shape):
    """``(None, 32)``, as Keras prints a shape.

    Parameters
    ----------
    shape : tuple or None

    Returns
    -------
    str
        ``'?'`` for an unknown shape.
    """
    if shape is None:
        return "?"
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"
