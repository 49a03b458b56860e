"""Placeholder: the training helper replaces this with compile/fit/evaluate/predict/save (issue 6)."""


class Trainer:
    pass
