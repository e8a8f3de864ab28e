"""A base for functional models that a subclass builds from plain arguments, and
whose config is those arguments.

``Seq2Seq``, ``LanguageModel``, ``TextClassifier`` and ``Word2Vec`` build their
graph in ``__init__`` and add methods (``generate``, ``most_similar``...). Their
config is their constructor's arguments, so ``keras.saving.load_model`` rebuilds
them, ``safe_mode=True`` included, with no layer list in the file's config.

Example:

>>> class Tiny(FunctionalModel):
...     def __init__(self, units=4, name="tiny", **kwargs):
...         inputs = keras.Input((3,))
...         outputs = keras.layers.Dense(units)(inputs)
...         super().__init__(inputs, outputs, arguments=locals(), name=name, **kwargs)
>>> Tiny(units=2).get_config()
{'name': 'tiny', 'trainable': True, 'units': 2}
"""

import inspect

import keras


class FunctionalModel(keras.Model):
    """A functional ``keras.Model`` whose config is its subclass's ``__init__``
    arguments.

    The subclass builds its graph, then calls ``super().__init__(inputs,
    outputs, arguments=locals(), name=name, **kwargs)``: each parameter of its
    ``__init__`` but ``name`` becomes an attribute of the same name holding the
    value it has at that call (after any checks that normalise it), and
    ``get_config`` returns ``name``, ``trainable`` and those attributes.

    Args:
        inputs: the graph's inputs (a tensor, list or dict).
        outputs: the graph's outputs.
        arguments: the subclass's ``locals()``; only its ``__init__`` parameters
            are kept.
        name: model name.
        **kwargs: ``keras.Model`` arguments (``trainable``...).
    """

    def __init__(self, inputs, outputs, arguments, name=None, **kwargs):
        super().__init__(inputs=inputs, outputs=outputs, name=name, **kwargs)
        for key in self._argument_names():
            setattr(self, key, arguments[key])

    @classmethod
    def from_arguments(cls, arguments):
        """Builds the model from a builder's ``locals()``: the entries named like
        the parameters of ``__init__`` (``name`` included); the builder's other
        arguments (a ``clipnorm``...) stay out, and missing ones keep their
        defaults.

        Example:

        >>> def build_tiny(units=4, name="tiny", clipnorm=1.0):
        ...     return Tiny.from_arguments(locals())
        """
        names = (*cls._argument_names(), "name")
        return cls(**{key: arguments[key] for key in names if key in arguments})

    @classmethod
    def _argument_names(cls):
        parameters = inspect.signature(cls.__init__).parameters.values()
        return [
            p.name
            for p in parameters
            if p.kind is p.POSITIONAL_OR_KEYWORD and p.name not in ("self", "name")
        ]

    def get_config(self):
        config = {key: getattr(self, key) for key in self._argument_names()}
        return {"name": self.name, "trainable": self.trainable, **config}
