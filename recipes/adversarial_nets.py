"""What the generative adversarial networks share (seeds 003 and 004): the
two-network model, its two optimizers and its losses. The families are
``recipes.models.gan`` (MLP GAN, DCGAN, class-conditional GAN) and
``recipes.models.pix2pix``. (Adversarial *examples* are ``recipes.adversarial``.)

A generator ``G`` maps noise ``z`` (or a source image) to samples; a
discriminator ``D`` outputs the logit of "real". Seed 004's losses, for a real
batch ``x``:

    discriminator:  -[log D(x) + log(1 - D(G(z)))]
    generator:      -log D(G(z))          (the non-saturating loss)

How it trains on every backend. Each model computes both losses
(``AdversarialModel.adversarial_losses``) and ``compute_loss`` returns their
sum, so the built-in ``train_step`` of TensorFlow, JAX and PyTorch computes the
gradients. Two tricks keep each network on its own loss:
``D`` scores ``stop_gradient(G(z))`` for its loss (no gradient reaches ``G``),
and the generator loss scores ``G(z)`` with ``D``'s weights held constant
(``AdversarialModel.frozen_discriminator``: the gradient reaches ``G`` through
``D`` but not ``D``'s weights). The gradient of the sum is then exactly
``(dL_D/dD, dL_G/dG)``, the simultaneous update of TensorFlow's DCGAN tutorial.
Two optimizers apply it: ``gan_optimizer``, a ``keras.optimizers.MultiOptimizer``,
sends the variables whose path matches ``DISCRIMINATOR_PATTERN`` (every
discriminator layer is named ``discriminator_...``) to the discriminator's
optimizer, the rest to the generator's. The history reports ``d_loss`` and
``g_loss``; ``loss`` is their sum.

Under a mixed-precision policy (``recipes.set_precision``) the networks compute in
bfloat16 or float16, but each one's last layer is float32, as the Keras
mixed-precision guide advises: the generator's samples, the discriminator's
logits and so the losses are float32.
"""

import re

import keras
from keras import ops

from recipes.checks import check_no_sample_weight
from recipes.compiling import BuiltModel, get_optimizer
from recipes.nested_config import NestedConfig

DISCRIMINATOR_PATTERN = "discriminator.*"
# Radford et al. 2015 (DCGAN): Adam with learning rate 2e-4 and beta_1 = 0.5.
GAN_ADAM = {"class_name": "adam", "config": {"beta_1": 0.5}}
# The compile defaults of every GAN builder: ``@register_builder(**GAN_COMPILE)``.
GAN_COMPILE = {"optimizer": GAN_ADAM, "learning_rate": 2e-4, "builtin_loss": True}


def gan_optimizer(optimizer=GAN_ADAM, learning_rate=2e-4, discriminator_learning_rate=None):
    """The two optimizers of a GAN, as one ``keras.optimizers.MultiOptimizer``.

    Variables whose path matches ``DISCRIMINATOR_PATTERN`` get the
    discriminator's optimizer, all others the generator's.

    Args:
        optimizer: optimizer name, config or instance (an instance serves the
            generator and a copy of it the discriminator).
        learning_rate: the generator's learning rate (``None`` with an instance).
        discriminator_learning_rate: the discriminator's; ``None``: the same.

    Returns:
        A ``MultiOptimizer``; ``.optimizers`` lists the discriminator's then the
        generator's.

    Example:

    >>> gan_optimizer("adam", 2e-4, discriminator_learning_rate=1e-4)
    """
    generator_optimizer = get_optimizer(optimizer, learning_rate)
    if isinstance(optimizer, keras.optimizers.Optimizer):
        discriminator_optimizer = optimizer.__class__.from_config(optimizer.get_config())
        if discriminator_learning_rate is not None:
            discriminator_optimizer.learning_rate = discriminator_learning_rate
    else:
        discriminator_optimizer = get_optimizer(
            optimizer,
            learning_rate if discriminator_learning_rate is None else discriminator_learning_rate,
        )
    return keras.optimizers.MultiOptimizer(
        keras.optimizers.OptimizerMap(
            generator_optimizer, {DISCRIMINATOR_PATTERN: discriminator_optimizer}
        ),
        name="gan_optimizer",
    )


def built_gan(model, discriminator_learning_rate=None):
    """``model`` as a GAN builder's body returns it: compiled with
    ``gan_optimizer`` and the user's optimizer and learning rate (the
    discriminator's own rate, when given, on top), built by the builder for
    inputs of its ``input_shape``.

    Args:
        model: an ``AdversarialModel``.
        discriminator_learning_rate: the discriminator's learning rate;
            ``None``: the generator's.

    Returns:
        A ``recipes.compiling.BuiltModel``.

    Example:

    >>> return built_gan(GAN(generator, discriminator), 1e-4)
    """

    def make_optimizer(optimizer, learning_rate):
        return gan_optimizer(optimizer, learning_rate, discriminator_learning_rate)

    return BuiltModel(model, make_optimizer=make_optimizer)


def constant_bce(target, logits):
    """Mean binary cross-entropy of ``logits`` against a constant label
    (1 for "real", 0 for "generated").

    Example:

    >>> d_loss = constant_bce(1.0, real_logits) + constant_bce(0.0, fake_logits)
    """
    labels = ops.full_like(logits, target)
    return ops.mean(ops.binary_crossentropy(labels, logits, from_logits=True))


class AdversarialModel(NestedConfig, keras.Model):
    """What the GANs share: a generator and a discriminator, the frozen-
    discriminator pass, a ``compute_loss`` that reports ``d_loss`` and ``g_loss``
    and returns their sum, and (de)serialization.

    A subclass defines ``adversarial_losses(x, y, y_pred, training)``, which
    returns the discriminator's and the generator's loss for a batch (``y_pred``
    is what calling the model gave).

    Args:
        generator: a ``keras.Model``.
        discriminator: a ``keras.Model`` whose layers are all named
            ``discriminator_...`` (see ``gan_optimizer``).
        **kwargs: ``Model`` arguments (``name``...).

    Example:

    >>> class MyGAN(AdversarialModel):
    ...     def adversarial_losses(self, x, y, y_pred, training):
    ...         return d_loss, g_loss
    """

    nested_objects = ("generator", "discriminator")

    def __init__(self, generator, discriminator, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.discriminator_tracker = keras.metrics.Mean(name="d_loss")
        self.generator_tracker = keras.metrics.Mean(name="g_loss")
        for variable in generator.trainable_variables:
            if re.fullmatch(DISCRIMINATOR_PATTERN, variable.path):
                raise ValueError(
                    f"The generator's variable {variable.path!r} would get the "
                    "discriminator's optimizer: generator layer names must not start "
                    "with 'discriminator'."
                )
        for variable in discriminator.trainable_variables:
            if not re.fullmatch(DISCRIMINATOR_PATTERN, variable.path):
                raise ValueError(
                    f"The discriminator's variable {variable.path!r} would get the "
                    "generator's optimizer: name every discriminator layer "
                    "'discriminator_...'."
                )

    def frozen_discriminator(self, inputs, training=True):
        """The discriminator's output with its weights held constant: gradients
        flow back to ``inputs`` (the generator) but not to the discriminator."""
        discriminator = self.discriminator
        trainable = [ops.stop_gradient(v) for v in discriminator.trainable_variables]
        non_trainable = [ops.convert_to_tensor(v) for v in discriminator.non_trainable_variables]
        outputs, _ = discriminator.stateless_call(
            trainable, non_trainable, inputs, training=training
        )
        return outputs

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        check_no_sample_weight(sample_weight, type(self).__name__)
        d_loss, g_loss = self.adversarial_losses(x, y, y_pred, training)
        self.discriminator_tracker.update_state(d_loss)
        self.generator_tracker.update_state(g_loss)
        return d_loss + g_loss
