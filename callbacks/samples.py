"""``SampleGrid``: what a generative model makes, saved as PNG while it trains."""

import os

import keras


class SampleGrid(keras.callbacks.Callback):
    """Saves samples of the model being trained as ``<name>_epoch_<NNN>.png``.

    Every ``every`` epochs it draws
    ``model.sample(num_samples, seed=seed)`` (the VAE, the GANs and the flows of
    ``recipes`` have ``sample``), or, with ``inputs``, ``model.predict(inputs)``
    (e.g. pix2pix translations), and saves them with
    ``callbacks.plots.plot_samples``: a grid for images, a scatter for 2-D points.
    The fixed ``seed`` draws the same noise each time, so the pictures show the
    model improving. One instance serves several ``fit`` calls: ``paths`` (the
    files written) restarts in ``on_train_begin``.

    Args:
        directory: folder for the PNG files (created if missing).
        num_samples: samples per picture (ignored with ``inputs``).
        inputs: model inputs to ``predict`` instead of sampling.
        every: draw every this many epochs.
        seed: seed of the sampling noise.
        name: file stem and title.
        columns: images per grid row.
        reference: ``(m, 2)`` real points drawn under 2-D samples.

    Example:

    >>> gan.fit(x, epochs=20, callbacks=[SampleGrid("runs/gan", num_samples=36, every=5)])
    """

    def __init__(
        self,
        directory,
        num_samples=16,
        inputs=None,
        every=1,
        seed=0,
        name="samples",
        columns=None,
        reference=None,
    ):
        super().__init__()
        for argument, value in (("num_samples", num_samples), ("every", every)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(
                    f"`{argument}` must be an integer >= 1. Received: {argument}={value!r}"
                )
        self.directory = directory
        self.num_samples = num_samples
        self.inputs = inputs
        self.every = every
        self.seed = seed
        self.name = name
        self.columns = columns
        self.reference = reference
        self.paths = []

    def on_train_begin(self, logs=None):
        self.paths = []
        if self.inputs is None and not callable(getattr(self.model, "sample", None)):
            raise ValueError(
                f"SampleGrid needs a model with a `sample(n, seed=...)` method, or "
                f"`inputs` to predict on. {self.model.name!r} has neither."
            )
        os.makedirs(self.directory, exist_ok=True)

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every == 0:
            self.save(epoch + 1)

    def save(self, epoch):
        """Draws and saves the samples now; returns the PNG's path."""
        from callbacks.plots import plot_samples

        if self.inputs is not None:
            samples = self.model.predict(self.inputs, verbose=0)
        else:
            samples = self.model.sample(self.num_samples, seed=self.seed)
        path = os.path.join(self.directory, f"{self.name}_epoch_{epoch:03d}.png")
        plot_samples(
            samples,
            path,
            title=f"{self.name}, epoch {epoch}",
            columns=self.columns,
            reference=self.reference,
        )
        self.paths.append(path)
        return path
