"""Keras 3's Sequential API for multilayer perceptrons, on fastmlp's engine.

``from fastmlp import keras`` in place of ``import keras`` (or ``from
tensorflow import keras``), and a curriculum's Sequential scripts run as
written: the same names, defaults, numbers and printed lines as Keras 3,
without a deep-learning framework behind them.

What is built (each part tested against data recorded from Keras 3 with
``scripts/record_keras_reference.py``):

- :mod:`~fastmlp.keras.optimizers`: SGD, RMSprop, Adam, AdamW, Adagrad,
  Nadam with Keras's defaults and arithmetic (the C steps'
  ``arithmetic='keras'``), ``clipnorm`` / ``clipvalue`` / ``global_clipnorm``,
  ``weight_decay``, Keras 2's ``lr=`` / ``decay=`` with a warning, ``get``
  in any case.

What waits for the network description of issue 19 (the ``Network`` that
the training engine takes): ``Sequential.compile`` / ``fit`` /
``evaluate`` / ``predict`` raise NotImplementedError until then, rather
than train in Python.
"""
from fastmlp.keras import optimizers

__all__ = ["optimizers"]
