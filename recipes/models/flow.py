"""RealNVP normalizing flows (Dinh et al. 2017; seed 004's density estimation).

A flow is a bijection ``F`` from data ``x`` to a latent ``z = F(x)`` with a
standard normal density ``q``. The change of variables gives the exact density

    log p(x) = log q(F(x)) + log|det Jac_F(x)|,

so the flow trains by minimising the negative log-likelihood (seed 004: ``nll =
-E[log p(x)]``, equivalent to minimising ``KL(P* || P)``) and samples by drawing
``z ~ N(0, I)`` and computing ``x = F^{-1}(z)``. ``F`` is a stack of
``AffineCoupling`` layers (and, for images, ``Squeeze`` layers), all exactly
invertible with triangular Jacobians.

Calling the model returns ``log p(x)`` per sample, and ``compute_loss`` turns it
into the NLL: the built-in ``train_step`` of every backend trains it.
"""

import math

import keras
import numpy as np
from keras import ops

from recipes.checks import (
    check_event_shape,
    check_known_shape,
    check_no_sample_weight,
    check_positive_int,
)
from recipes.layers.coupling import AffineCoupling
from recipes.layers.flow import Squeeze
from recipes.precision import VariableDtypeInputs
from recipes.presets import dataset_arguments
from recipes.registry import register_builder, register_recipes


@keras.saving.register_keras_serializable(package="recipes")
class RealNVP(VariableDtypeInputs, keras.Model):
    """A RealNVP flow: ``log_prob(x)`` (what calling the model returns),
    ``to_latent``, ``inverse`` and ``sample``.

    Vectors ``(features,)`` go through ``num_couplings`` checkerboard couplings of
    alternating parity. Images ``(h, w, c)`` go through ``num_scales`` scales of
    [``num_couplings`` checkerboard couplings, a ``Squeeze``, ``num_couplings``
    channel couplings], then ``num_couplings`` final checkerboard couplings (no
    dimension is factored out, so the latent has ``h * w * c`` values in shape
    ``latent_shape``).

    Args:
        event_shape: shape of one sample, ``(features,)`` or ``(h, w, c)`` with
            ``h`` and ``w`` divisible by ``2 ** num_scales``.
        num_couplings: coupling layers per group (see above), >= 2.
        hidden_units: width of each coupling's conditioning network.
        num_hidden: hidden layers of each conditioning network.
        num_scales: image flows: number of squeezes.
        kernel_size: image flows: kernel size of the conditioning convolutions.
        **kwargs: ``Model`` arguments (``name``...).

    Under a mixed-precision policy the conditioning networks run in the compute
    dtype and everything else in float32: the data, the latent, the
    log-determinants and ``log p(x)``. ``inverse(to_latent(x))`` then gives ``x``
    back to float32 precision, as in a float32 flow.

    Example:

    >>> flow = RealNVP(event_shape=(2,), num_couplings=8)
    >>> flow.compile("adam")
    >>> flow.fit(x, epochs=100)                     # loss: NLL in nats per sample
    >>> flow.predict(x).shape                       # log p(x)
    (700,)
    >>> flow.sample(500, seed=0).shape
    (500, 2)
    """

    def __init__(
        self,
        event_shape,
        num_couplings=6,
        hidden_units=64,
        num_hidden=2,
        num_scales=1,
        kernel_size=3,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_couplings = check_positive_int("num_couplings", num_couplings, minimum=2)
        self.hidden_units = check_positive_int("hidden_units", hidden_units)
        self.num_hidden = check_positive_int("num_hidden", num_hidden, minimum=0)
        self.num_scales = check_positive_int("num_scales", num_scales)
        self.kernel_size = check_positive_int("kernel_size", kernel_size)
        self.event_shape = event_shape = check_event_shape(event_shape, num_scales)
        self.flow_layers = self._make_layers()
        self.dimension = math.prod(event_shape)
        self.latent_shape = self._latent_shape()

    def _make_layers(self):
        plan = ["checkerboard"]
        if len(self.event_shape) == 3:
            for scale in range(1, self.num_scales + 1):
                plan += [f"squeeze_{scale}", "channel", "checkerboard"]
        layers, count = [], 0
        for step in plan:
            if step.startswith("squeeze"):
                layers.append(Squeeze(dtype=self.dtype_policy, name=step))
                continue
            for i in range(self.num_couplings):
                count += 1
                layers.append(
                    AffineCoupling(
                        mask=step,
                        parity=i % 2,
                        hidden_units=self.hidden_units,
                        num_hidden=self.num_hidden,
                        kernel_size=self.kernel_size,
                        dtype=self.dtype_policy,
                        name=f"coupling_{count}",
                    )
                )
        return layers

    def _latent_shape(self):
        if len(self.event_shape) == 1:
            return self.event_shape
        factor = 2**self.num_scales
        height, width, channels = self.event_shape
        return (height // factor, width // factor, channels * factor * factor)

    def build(self, input_shape):
        shape = tuple(input_shape)
        for layer in self.flow_layers:
            layer.build(shape)
            if isinstance(layer, Squeeze):
                shape = layer.compute_output_shape(shape)

    def to_latent(self, x, training=False):
        """The normalising direction: ``(z, log|det Jac_F(x)|)``.

        (Not named ``forward``: on the PyTorch backend a Keras layer is a
        ``torch.nn.Module``, whose ``forward`` is what calling the layer runs.)
        """
        log_det = ops.zeros((ops.shape(x)[0],), dtype=x.dtype)
        for layer in self.flow_layers:
            if isinstance(layer, Squeeze):
                x = layer(x)
            else:
                x, layer_log_det = layer(x, training=training)
                log_det = log_det + layer_log_det
        return x, log_det

    def inverse(self, z):
        """The generative direction: ``x = F^{-1}(z)``, exact."""
        for layer in reversed(self.flow_layers):
            if isinstance(layer, Squeeze):
                z = layer.inverse(z)
            else:
                z, _ = layer(z, inverse=True)
        return z

    def log_prob(self, x, training=False):
        """``log p(x)`` per sample in nats: ``log N(F(x); 0, I) + log|det J|``."""
        z, log_det = self.to_latent(x, training=training)
        flat = ops.reshape(z, (ops.shape(z)[0], -1))
        log_normal = -0.5 * ops.sum(ops.square(flat), axis=-1)
        return log_normal - 0.5 * self.dimension * math.log(2 * math.pi) + log_det

    def call(self, inputs, training=False):
        return self.log_prob(
            ops.convert_to_tensor(inputs, dtype=self.variable_dtype), training=training
        )

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        check_no_sample_weight(sample_weight, "normalizing flow")
        loss = -ops.mean(y_pred)
        if self.losses:
            loss = loss + ops.sum(self.losses)
        return loss

    def sample(self, num_samples, seed=None, batch_size=1024):
        """``num_samples`` samples (NumPy) ``F^{-1}(z)`` with ``z ~ N(0, I)``."""
        check_positive_int("num_samples", num_samples)
        z = np.random.default_rng(seed).standard_normal((num_samples, *self.latent_shape))
        z = z.astype(self.variable_dtype)
        return np.concatenate(
            [
                ops.convert_to_numpy(self.inverse(ops.convert_to_tensor(z[i : i + batch_size])))
                for i in range(0, num_samples, batch_size)
            ]
        )

    def get_config(self):
        return {
            **super().get_config(),
            "event_shape": self.event_shape,
            "num_couplings": self.num_couplings,
            "hidden_units": self.hidden_units,
            "num_hidden": self.num_hidden,
            "num_scales": self.num_scales,
            "kernel_size": self.kernel_size,
        }


@register_builder(builtin_loss=True)
def build_realnvp(
    input_shape=(2,),
    num_couplings=6,
    hidden_units=64,
    num_hidden=2,
    num_scales=1,
    kernel_size=3,
    name="realnvp",
):
    """Builds a RealNVP normalizing flow trained by maximum likelihood.

    See ``RealNVP`` for the layer layout. Data works best standardised (vectors)
    or in [0, 1] with uniform dequantisation noise (images). The loss, the
    negative log-likelihood in nats per sample, is built in.

    Args:
        input_shape: ``(features,)`` or ``(height, width, channels)``.
        num_couplings: coupling layers per group, >= 2.
        hidden_units: width of each coupling's conditioning network.
        num_hidden: hidden layers per conditioning network.
        num_scales: image flows: number of squeeze steps.
        kernel_size: image flows: conditioning convolution size.
        name: model name.

    Returns:
        A ``RealNVP`` model: ``predict(x)`` gives ``log p(x)``, ``sample(n)``
        new data.

    Example:

    >>> flow = build_realnvp(input_shape=(2,), num_couplings=8, hidden_units=64)
    >>> flow.fit(x_moons_standardised, epochs=100, batch_size=128)
    >>> -flow.predict(x_test).mean()                # held-out NLL, nats
    """
    input_shape = check_known_shape("input_shape", input_shape, ndim=(1, 3))
    return RealNVP(
        input_shape,
        num_couplings=num_couplings,
        hidden_units=hidden_units,
        num_hidden=num_hidden,
        num_scales=num_scales,
        kernel_size=kernel_size,
        name=name,
    )


register_recipes(
    {
        "moons_realnvp": {
            "builder": build_realnvp,
            "summary": "RealNVP for the 2-D moons: 8 affine couplings with 64-64 MLPs, "
            "NLL training.",
            **dataset_arguments("moons", "input_shape"),
            "fit": {"epochs": 150, "batch_size": 128},
            "trainer": "samples",
            "num_couplings": 8,
            "hidden_units": 64,
            "learning_rate": 2e-3,
        },
    }
)
