"""Prototypical networks for N-way K-shot classification (Snell et al. 2017; seed 003).

An *episode* holds a support set (K labelled samples of each of N classes) and a
query set. An encoder embeds every sample; the *prototype* of a class is the mean
embedding of its K support samples, and each query is scored by its negative
squared Euclidean distance to every prototype: these are the logits of an N-way
softmax. Training on many episodes drawn from the training classes teaches an
embedding where the nearest prototype is the right class, also for classes never
seen in training.

Shapes: ``support`` is ``(batch, N, K, *input_shape)``, ``query`` is
``(batch, Q, *input_shape)``, the logits are ``(batch, Q, N)`` and the labels of the
queries are integers in ``[0, N)`` of shape ``(batch, Q)``. N, K and Q are free:
one model serves any episode size. ``EpisodeSampler`` draws episodes from a
labelled dataset.

Example:

>>> model = build_prototypical(input_shape=(8, 8, 1), embedding_units=(64, 64))
>>> train = EpisodeSampler(x, y, n_way=5, k_shot=5, n_query=5, classes=range(5))
>>> model.fit(train, epochs=5)
>>> test = EpisodeSampler(x_test, y_test, n_way=5, k_shot=5, classes=range(5, 10))
>>> model.evaluate(test)
"""

import keras
import numpy as np
from keras import ops

from recipes.checks import (
    LAYER_OR_MODEL,
    check_choice,
    check_episode_classes,
    check_instance,
    check_layer_sizes,
    check_positive_int,
    check_same_length,
    check_shape,
)
from recipes.heads import HIDDEN_ACTIVATIONS
from recipes.nested_config import NestedConfig
from recipes.presets import dataset_arguments
from recipes.registry import register_builder, register_recipes


@keras.saving.register_keras_serializable(package="recipes")
class PrototypicalNetwork(NestedConfig, keras.Model):
    """Scores queries by their distance to class prototypes of a support set.

    Args:
        encoder: a Keras model or layer that maps a batch of samples
            ``(n, *input_shape)`` to embeddings ``(n, dim)``.
        **kwargs: ``Model`` arguments (``name``...).

    Call arguments:
        inputs: a dict with ``"support"`` ``(batch, N, K, *input_shape)`` and
            ``"query"`` ``(batch, Q, *input_shape)``.

    Returns:
        Logits ``(batch, Q, N)``: minus the squared Euclidean distance from each
        query embedding to each class prototype (the mean support embedding).

    Example:

    >>> net = PrototypicalNetwork(keras.Sequential([keras.layers.Flatten()]))
    >>> support = np.zeros((1, 3, 2, 8, 8, 1), "float32")
    >>> net({"support": support, "query": np.zeros((1, 4, 8, 8, 1), "float32")}).shape
    (1, 4, 3)
    """

    nested_objects = ("encoder",)

    def __init__(self, encoder, **kwargs):
        super().__init__(**kwargs)
        self.encoder = check_instance("encoder", encoder, keras.layers.Layer, LAYER_OR_MODEL)

    def build(self, input_shape):
        sample_shape = tuple(input_shape["query"][2:])
        self.encoder.build((None, *sample_shape))

    def embed(self, x):
        """Embeds a batch of samples ``(n, *input_shape)`` with the encoder."""
        return self.encoder(x)

    def prototypes(self, support):
        """Class means ``(batch, N, dim)`` of the embedded support set, in the variable
        dtype (float32 under mixed precision)."""
        shape = ops.shape(support)
        batch, ways, shots = shape[0], shape[1], shape[2]
        flat = ops.reshape(support, (-1, *support.shape[3:]))
        embedded = self.encoder(flat)
        embedded = ops.reshape(embedded, (batch, ways, shots, embedded.shape[-1]))
        return ops.mean(ops.cast(embedded, self.variable_dtype), axis=2)

    def call(self, inputs):
        support, query = inputs["support"], inputs["query"]
        prototypes = self.prototypes(support)
        shape = ops.shape(query)
        flat = ops.reshape(query, (-1, *query.shape[2:]))
        embedded = self.encoder(flat)
        queries = ops.reshape(embedded, (shape[0], shape[1], embedded.shape[-1]))
        # Squared distances |q - p|^2 = |q|^2 - 2 q.p + |p|^2, shape (batch, Q, N), in
        # float32 (as the prototypes): in bfloat16 the expansion would cancel.
        queries = ops.cast(queries, self.variable_dtype)
        cross = ops.einsum("bqd,bnd->bqn", queries, prototypes)
        query_norms = ops.sum(ops.square(queries), axis=-1)[:, :, None]
        prototype_norms = ops.sum(ops.square(prototypes), axis=-1)[:, None, :]
        return -(query_norms - 2.0 * cross + prototype_norms)


@register_builder(
    loss=lambda: keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    loss_doc="``SparseCategoricalCrossentropy(from_logits=True)`` over the N prototypes",
    metrics=["accuracy"],
    metrics_doc="``['accuracy']`` (query accuracy)",
)
def build_prototypical(
    input_shape=(8, 8, 1),
    embedding_units=(64, 64),
    activation="relu",
    encoder=None,
    name="prototypical",
):
    """Builds a prototypical network for N-way K-shot episodes.

    Args:
        input_shape: shape of one sample.
        embedding_units: widths of the Dense encoder (after a flatten); the last
            one is the embedding size. The last layer has no activation.
        activation: hidden activation of the Dense encoder, one of
            ``HIDDEN_ACTIVATIONS``.
        encoder: a Keras model mapping ``(n, *input_shape)`` to ``(n, dim)``, e.g. a
            small CNN; replaces the Dense encoder (``embedding_units`` is then
            unused).
        name: model name.

    Returns:
        A built ``PrototypicalNetwork``; its ``encoder`` attribute is the
        embedding model.

    Example:

    >>> model = build_prototypical(input_shape=(8, 8, 1), embedding_units=(32,))
    >>> model.encoder.output_shape
    (None, 32)
    """
    input_shape = check_shape("input_shape", input_shape)
    check_choice("activation", activation, HIDDEN_ACTIVATIONS)
    if encoder is None:
        units = check_layer_sizes("embedding_units", embedding_units)
        encoder = keras.Sequential(name="encoder")
        encoder.add(keras.Input(shape=input_shape, name="samples"))
        if len(input_shape) > 1:
            encoder.add(keras.layers.Flatten(name="flatten"))
        for i, width in enumerate(units, start=1):
            last = i == len(units)
            encoder.add(
                keras.layers.Dense(
                    width, activation=None if last else activation, name=f"dense_{i}"
                )
            )
    else:
        check_instance("encoder", encoder, keras.layers.Layer, f"None or {LAYER_OR_MODEL}")
    model = PrototypicalNetwork(encoder, name=name)
    model.build({"support": (None, None, None, *input_shape), "query": (None, None, *input_shape)})
    return model


class EpisodeSampler(keras.utils.PyDataset):
    """Draws N-way K-shot episodes from a labelled dataset.

    Each episode picks ``n_way`` classes at random among ``classes``, then
    ``k_shot`` support and ``n_query`` query samples of each (without overlap).
    The query labels are the positions ``0..n_way-1`` of the classes in the
    episode, so they change from episode to episode.

    It is a ``keras.utils.PyDataset``: ``model.fit(sampler)`` trains on
    ``steps`` batches of ``batch_size`` fresh episodes per epoch. ``sample(n)``
    returns ``n`` episodes as arrays.

    Args:
        x: samples, ``(n, *input_shape)``.
        y: integer labels, ``(n,)``.
        n_way: classes per episode (N).
        k_shot: support samples per class (K).
        n_query: query samples per class.
        classes: the classes to draw from (default: all labels in ``y``); use
            disjoint class sets for training and testing.
        batch_size: episodes per batch.
        steps: batches per epoch.
        seed: seed of the random draws; with a fixed seed, ``sample`` and the
            batches repeat exactly.

    Example:

    >>> sampler = EpisodeSampler(x, y, n_way=3, k_shot=2, n_query=4, classes=[7, 8, 9])
    >>> inputs, labels = sampler.sample(10)
    >>> inputs["support"].shape, inputs["query"].shape, labels.shape
    ((10, 3, 2, 8, 8, 1), (10, 12, 8, 8, 1), (10, 12))
    """

    def __init__(
        self,
        x,
        y,
        n_way=5,
        k_shot=5,
        n_query=5,
        classes=None,
        batch_size=8,
        steps=20,
        seed=0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.x = np.asarray(x)
        self.y = np.asarray(y).reshape(-1)
        check_same_length(self.x, self.y)
        self.n_way = check_positive_int("n_way", n_way, minimum=2)
        self.k_shot = check_positive_int("k_shot", k_shot)
        self.n_query = check_positive_int("n_query", n_query)
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.steps = check_positive_int("steps", steps)
        labels = np.unique(self.y) if classes is None else np.asarray(list(classes))
        self.classes = labels
        self._index = {int(c): np.flatnonzero(self.y == c) for c in labels}
        check_episode_classes(self._index, self.n_way, self.k_shot, self.n_query)
        self.seed = seed
        self._rng = np.random.default_rng(seed)

    def __len__(self):
        return self.steps

    def __getitem__(self, index):
        return self.sample(self.batch_size)

    def sample(self, num_episodes=1):
        """Draws ``num_episodes`` episodes.

        Returns:
            ``({"support": (E, N, K, ...), "query": (E, N * n_query, ...)},
            labels (E, N * n_query))``.
        """
        check_positive_int("num_episodes", num_episodes)
        supports, queries, labels = [], [], []
        for _ in range(num_episodes):
            chosen = self._rng.choice(self.classes, size=self.n_way, replace=False)
            support, query = [], []
            for c in chosen:
                idx = self._rng.choice(
                    self._index[int(c)], size=self.k_shot + self.n_query, replace=False
                )
                support.append(self.x[idx[: self.k_shot]])
                query.append(self.x[idx[self.k_shot :]])
            order = self._rng.permutation(self.n_way * self.n_query)
            supports.append(np.stack(support))
            queries.append(np.concatenate(query)[order])
            labels.append(np.repeat(np.arange(self.n_way), self.n_query)[order])
        inputs = {"support": np.stack(supports), "query": np.stack(queries)}
        return inputs, np.stack(labels).astype("int32")


register_recipes(
    {
        "digits_prototypical": {
            "builder": build_prototypical,
            "summary": "Prototypical network (Dense 64-64 embedding) trained on episodes of "
            "digits 0-6, tested 3-way 5-shot on digits 7-9 it never saw.",
            **dataset_arguments("digits", "input_shape"),
            "fit": {"epochs": 10, "batch_size": 8},
            "trainer": "episodes",
            "embedding_units": (64, 64),
        },
    }
)
