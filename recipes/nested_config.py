"""Config plumbing for models built around other Keras objects: a VAE's encoder
and decoder, a GAN's generator and discriminator, a prototypical network's
encoder.

Such a model takes those objects as constructor arguments and keeps them under
the same names; ``NestedConfig`` serialises them into its config and rebuilds
them when the model is loaded, so ``keras.saving.load_model`` works with
``safe_mode=True``.

Example:

>>> @keras.saving.register_keras_serializable(package="recipes")
... class Autoencoder(NestedConfig, keras.Model):
...     nested_objects = ("encoder", "decoder")
...
...     def __init__(self, encoder, decoder, **kwargs):
...         super().__init__(**kwargs)
...         self.encoder, self.decoder = encoder, decoder
"""

import keras


class NestedConfig:
    """A mixin (before ``keras.Model`` in the bases) whose ``get_config`` and
    ``from_config`` carry the constructor arguments named in ``nested_objects``:
    Keras models, layers or losses stored as attributes of the same names.

    A subclass adds its other arguments with ``{**super().get_config(), ...}``.
    """

    nested_objects = ()

    def get_config(self):
        config = super().get_config()
        for key in self.nested_objects:
            config[key] = keras.saving.serialize_keras_object(getattr(self, key))
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        for key in cls.nested_objects:
            config[key] = keras.saving.deserialize_keras_object(
                config[key], custom_objects=custom_objects
            )
        return cls(**config)
