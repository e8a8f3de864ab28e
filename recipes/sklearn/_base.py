"""What the three wrappers share: parameter routing, building the Keras model from a
recipe or a builder, seeding, and a fast ``fit`` for in-memory data."""

import contextlib
import copy
import inspect
import math
import random

import keras
import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from recipes.checks import check_integer
from recipes.compiling import steps_dividing, steps_per_execution

ROUTES = ("model", "optimizer", "fit")
# Above this many bytes of training data per fit, epochs are not laid out in
# advance (see ``_epoch_plan``) and Keras shuffles each epoch itself.
FAST_PATH_BYTES = 64 * 2**20
PREDICT_CHUNK = 4096
# With run_eagerly="auto", fits of at most this many steps run eagerly: tracing
# the training step costs more than running a few dozen steps op by op.
EAGER_MAX_STEPS = 64


class KerasEstimator(BaseEstimator):
    """Base of ``KerasClassifier``, ``KerasRegressor`` and ``KerasTransformer``.

    ``__init__`` only stores its arguments: the named ones, and the routed ones
    ``model__<arg>`` (builder arguments), ``optimizer__<arg>`` (optimizer
    arguments) and ``fit__<arg>`` (``Model.fit`` arguments), which ``get_params``
    and ``set_params`` treat as parameters of their own (so ``clone`` and
    ``GridSearchCV`` see them). Everything is checked in ``fit``.
    """

    # The builder used when ``model=None``, and what each subclass injects.
    _default_builder_name = "build_mlp"

    def __init__(
        self,
        model=None,
        *,
        optimizer=None,
        loss=None,
        metrics=None,
        epochs=30,
        batch_size=32,
        validation_split=0.0,
        callbacks=None,
        shuffle=True,
        warm_start=False,
        random_state=None,
        verbose=0,
        run_eagerly="auto",
        **routed,
    ):
        # scikit-learn's rule: no logic in ``__init__``, the arguments stored as given.
        for name, value in locals().items():
            if name not in ("self", "routed", "__class__"):
                setattr(self, name, value)
        self._routed = dict(routed)

    def __init_subclass__(cls, **kwargs):
        """A subclass's ``__init__`` declares only its own parameters (keyword-only,
        then ``**kwargs`` for the rest) and passes the rest to this one; its
        signature, which ``help`` and scikit-learn's ``get_params`` read, is made
        the full one: these parameters, then its own, then the routed ones."""
        super().__init_subclass__(**kwargs)
        if "__init__" in vars(cls):
            cls.__init__.__signature__ = _extended_signature(cls.__init__)

    # -- parameters -------------------------------------------------------------

    def get_params(self, deep=True):
        return {**super().get_params(deep=deep), **self._routed}

    def set_params(self, **params):
        routed = {k: v for k, v in params.items() if _is_routed(k)}
        self._routed.update(routed)
        rest = {k: v for k, v in params.items() if k not in routed}
        if rest:
            super().set_params(**rest)
        return self

    def _route(self, prefix):
        return {
            k[len(prefix) + 2 :]: v for k, v in self._routed.items() if k.startswith(f"{prefix}__")
        }

    def _check_params(self):
        unknown = sorted(k for k in self._routed if k.split("__", 1)[0] not in ROUTES)
        if unknown:
            raise ValueError(
                f"Unknown parameter(s) {', '.join(unknown)}: routed parameters start with "
                f"{', '.join(p + '__' for p in ROUTES)}."
            )
        check_integer("epochs", self.epochs)
        check_integer("batch_size", self.batch_size)
        if (
            not isinstance(self.validation_split, (int, float))
            or not 0 <= self.validation_split < 1
        ):
            raise ValueError(
                f"`validation_split` must be in [0, 1). Received: {self.validation_split!r}"
            )
        if self.run_eagerly not in (True, False, "auto"):
            raise ValueError(
                f"`run_eagerly` must be True, False or 'auto'. Received: {self.run_eagerly!r}"
            )
        if self.callbacks is not None and not isinstance(self.callbacks, (list, tuple)):
            raise ValueError(
                f"`callbacks` must be a list of Keras callbacks. Received: {self.callbacks!r}"
            )

    # -- building ---------------------------------------------------------------
    def _builder(self):
        """``(builder, preset_kwargs)`` for ``self.model``."""
        import recipes

        model = self.model
        if model is None:
            model = self._default_builder_name
        if isinstance(model, str):
            builders = recipes.builders()
            if model in builders:
                return builders[model], {}
            recipe = recipes.get_recipe(model)  # unknown names: ValueError with hints
            return recipe.builder, dict(recipe.kwargs)
        if callable(model) and not isinstance(model, keras.Model):
            return model, {}
        raise ValueError(
            "`model` must be None, a recipe name from recipes.list_recipes(), a builder "
            "name such as 'build_mlp', or a function returning a keras.Model. "
            f"Received: model={model!r}"
        )

    def _injected_kwargs(self, n_features, target_width):
        """Builder arguments that depend on the data or on the estimator type."""
        return {"input_shape": (n_features,), "num_classes": target_width}

    def _build_model(self, n_features, target_width, seed):
        builder, kwargs = self._builder()
        signature = inspect.signature(builder).parameters
        takes_all = any(p.kind is p.VAR_KEYWORD for p in signature.values())

        def accepts(name):
            return takes_all or name in signature

        user = self._route("model")
        for key, value in self._injected_kwargs(n_features, target_width).items():
            if (
                accepts(key)
                and key not in user
                and not (key == "input_shape" and _fits_shape(kwargs.get(key), n_features))
            ):
                kwargs[key] = value
        kwargs.update(user)
        compile_args = self._compile_args(signature, takes_all)
        kwargs.update({k: v for k, v in compile_args.items() if accepts(k)})
        with _seeded(seed):
            model = builder(**kwargs)
        if not isinstance(model, keras.Model):
            raise ValueError(
                f"The builder {getattr(builder, '__name__', builder)!r} returned "
                f"{type(model).__name__}, not a keras.Model."
            )
        inputs = _symbolic_inputs(model)
        shape = tuple(inputs[0].shape[1:]) if inputs else kwargs.get("input_shape")
        self.input_shape_ = tuple(shape) if shape else (n_features,)
        if not _fits_shape(self.input_shape_, n_features):
            raise ValueError(
                f"The model takes inputs of shape {self.input_shape_}, which do not hold "
                f"the {n_features} features of X."
            )
        missing = {k: v for k, v in compile_args.items() if not accepts(k)}
        if model.optimizer is None or missing:
            self._compile(model, missing)
        return model

    def _compile_args(self, signature, takes_all):
        """``optimizer``, ``learning_rate``, ``loss`` and ``metrics`` for the builder."""
        args = {}
        options = self._route("optimizer")
        if "learning_rate" in options:
            args["learning_rate"] = options.pop("learning_rate")
        if self.optimizer is not None or options:
            base = self.optimizer
            if base is None:
                default = signature.get("optimizer")
                base = "adam" if default is None else default.default
            args["optimizer"] = _optimizer_config(base, options)
            if (
                isinstance(self.optimizer, keras.optimizers.Optimizer)
                and "learning_rate" not in args
            ):
                args["learning_rate"] = None  # keep the instance's own rate
        if self.loss is not None:
            args["loss"] = self.loss
        if self.metrics is not None:
            args["metrics"] = list(self.metrics)
        return args

    def _compile(self, model, args):
        """Compiles a model whose builder did not (or could not take the arguments)."""
        from recipes.compiling import get_optimizer

        optimizer = args.get("optimizer", model.optimizer or "adam")
        if isinstance(optimizer, keras.optimizers.Optimizer) and model.optimizer is optimizer:
            optimizer = _optimizer_config(optimizer, {})
        model.compile(
            optimizer=get_optimizer(optimizer, args.get("learning_rate")),
            loss=args.get("loss", model.loss or self._default_loss(model)),
            metrics=args.get("metrics", []),
        )

    def _default_loss(self, model):
        return "mean_squared_error"

    # -- fitting ----------------------------------------------------------------
    def _seed(self):
        return int(check_random_state(self.random_state).randint(2**31 - 1))

    def _prepare_weights(self, sample_weight, x):
        weights = _check_sample_weight(
            sample_weight, x, dtype=np.float64, ensure_non_negative=True
        )
        return weights

    def _fit_keras(self, model, x, y, weights, epochs, seed, history):
        """Trains ``model`` for ``epochs`` epochs and appends to ``history``.

        Weights are rescaled to average 1 over the training set, so that they
        change the balance between samples but not the size of the steps.
        """
        weights = np.asarray(weights, dtype=np.float64)
        total = weights.sum()
        if not np.isfinite(total) or total <= 0:
            raise ValueError("Sample weights must contain at least one non-zero number.")
        validation = None
        if self.validation_split:
            cut = len(x) - max(1, int(round(len(x) * self.validation_split)))
            if cut < 1:
                raise ValueError(
                    f"validation_split={self.validation_split} leaves no training samples."
                )
            validation = (x[cut:], y[cut:], weights[cut:])
            x, y, weights = x[:cut], y[:cut], weights[:cut]
            if weights.sum() <= 0:
                raise ValueError(
                    "Sample weights must contain at least one non-zero number "
                    "in the training part of validation_split."
                )
        weights = weights * (len(weights) / weights.sum())
        batch_size = min(self.batch_size, len(x))
        fit_kwargs = {"verbose": self.verbose, **self._route("fit")}
        fit_kwargs["callbacks"] = self.callbacks_ = copy.deepcopy(list(self.callbacks or []))
        if validation is not None:
            fit_kwargs.setdefault("validation_data", validation)
        rng = np.random.RandomState(seed)
        plan = _epoch_plan(len(x), batch_size, epochs, self.shuffle, rng, x, y)
        self._set_execution(model, math.ceil(len(x) / batch_size), epochs)
        with _seeded(seed), _floatx(self._input_dtype(model)):
            if plan is None:
                result = model.fit(
                    x,
                    y,
                    sample_weight=weights,
                    batch_size=batch_size,
                    epochs=epochs,
                    shuffle=self.shuffle,
                    **fit_kwargs,
                )
            else:
                index, scale = plan
                result = model.fit(
                    x[index],
                    y[index],
                    sample_weight=weights[index] * scale,
                    batch_size=batch_size,
                    epochs=epochs,
                    steps_per_epoch=math.ceil(len(x) / batch_size),
                    shuffle=False,
                    **fit_kwargs,
                )
        for key, values in result.history.items():
            history.setdefault(key, []).extend(float(v) for v in values)
        return history

    def _set_execution(self, model, steps, epochs):
        """Eager or compiled training (``run_eagerly``), and for compiled training
        without callbacks, several steps per call: the largest divisor of the
        epoch's ``steps`` up to 32, so that every call runs the same number of steps
        (no shorter last call to compile again on JAX). A ``steps_per_execution``
        other than 1 and the recipes' default is the user's and stays."""
        if self.run_eagerly != "auto":
            model.run_eagerly = self.run_eagerly
        elif not model.run_eagerly:
            model.run_eagerly = epochs * steps <= EAGER_MAX_STEPS
        if model.run_eagerly:
            # Run eagerly with several steps per call, Keras 3.15's TensorFlow loop
            # does not stop at steps_per_epoch when the arrays hold more batches (as
            # the epoch plan's do): 10 one-step epochs trained 100 steps. One step
            # per call is also faster eagerly.
            model.steps_per_execution = 1
            return
        if (
            self.callbacks
            or model.train_function is not None
            or model.steps_per_execution not in (1, steps_per_execution())
        ):
            return  # the user's own setting
        model.steps_per_execution = steps_dividing(steps)

    # -- predicting -------------------------------------------------------------
    def _forward(self, x):
        """The model's outputs on ``x`` (NumPy, float64), in chunks, inference mode."""
        model = self.model_
        outputs = [
            keras.ops.convert_to_numpy(model(x[i : i + PREDICT_CHUNK], training=False))
            for i in range(0, len(x), PREDICT_CHUNK)
        ]
        return np.concatenate(outputs).astype(np.float64)

    @staticmethod
    def _input_dtype(model):
        """The model's input dtype (Keras' ``floatx`` when it has no symbolic input)."""
        inputs = _symbolic_inputs(model)
        dtype = keras.backend.standardize_dtype(inputs[0].dtype) if inputs else None
        return (
            dtype
            if dtype in ("float16", "bfloat16", "float32", "float64")
            else keras.config.floatx()
        )

    def _to_model_input(self, x):
        """``x`` in the model's input dtype, reshaped to its input shape (images
        from flat pixels)."""
        x = np.asarray(x, dtype=self._input_dtype(self.model_))
        shape = tuple(self.input_shape_)
        if len(shape) > 1:
            return x.reshape((len(x), *shape))
        return x

    def __sklearn_is_fitted__(self):
        return hasattr(self, "model_")

    def _check_fitted(self):
        check_is_fitted(self)


def _symbolic_inputs(model):
    """The model's symbolic inputs (functional and Sequential models), else ``None``."""
    try:
        return model.inputs or None
    except (AttributeError, ValueError):
        return None


def _extended_signature(init):
    """``KerasEstimator.__init__``'s signature with the keyword-only parameters of
    a subclass's ``init`` inserted before ``**routed``."""
    shared = list(inspect.signature(KerasEstimator.__init__).parameters.values())
    own = [
        parameter
        for parameter in inspect.signature(init).parameters.values()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    return inspect.Signature(shared[:-1] + own + shared[-1:])


def _is_routed(key):
    return "__" in key and key.split("__", 1)[0] in ROUTES


def _fits_shape(shape, n_features):
    """Whether a preset's ``input_shape`` holds ``n_features`` values (``(8, 8, 1)``
    for the 64 columns of the digits)."""
    try:
        return shape is not None and math.prod(shape) == n_features
    except TypeError:
        return False


def _optimizer_config(base, options):
    """An optimizer spec (name or config dict) with ``options`` merged into its config.
    An instance becomes its config, so that every fit gets a fresh optimizer."""
    if isinstance(base, keras.optimizers.Optimizer):
        base = keras.optimizers.serialize(base)
    if isinstance(base, str):
        return {"class_name": base, "config": dict(options)} if options else base
    if isinstance(base, dict):
        return {**base, "config": {**base.get("config", {}), **options}}
    raise ValueError(
        "`optimizer` must be a Keras optimizer name, config dict or instance. "
        f"Received: optimizer={base!r}"
    )


@contextlib.contextmanager
def _seeded(seed):
    """Seeds Keras (and the backend) with ``seed``, leaving Python's and NumPy's
    global random states as they were."""
    python_state, numpy_state = random.getstate(), np.random.get_state()
    keras.utils.set_random_seed(seed)
    try:
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)


@contextlib.contextmanager
def _floatx(dtype):
    """Keras casts floating arrays given to ``fit`` to ``floatx``: for a float64
    model, make that float64 while it trains (inputs, targets and weights)."""
    previous = keras.config.floatx()
    if dtype == "float64":
        keras.config.set_floatx(dtype)
    try:
        yield
    finally:
        keras.config.set_floatx(previous)


def _epoch_plan(n, batch_size, epochs, shuffle, rng, *arrays):
    """Lays out every epoch's batches in advance as one index array.

    Keras' ``fit`` on arrays pays a fixed cost at every epoch (a new shuffled
    iterator); on the small data sets scikit-learn users bring, that dominates.
    Laying out ``epochs`` permutations end to end and passing
    ``steps_per_epoch`` trains the same epochs with one iterator. Each epoch's
    last, short batch is padded to ``batch_size`` with zero-weight rows, and its
    real rows are weighted up by ``batch_size / rows``, so that its loss (a mean
    over ``batch_size``) equals the mean over its real rows, as Keras computes it.

    Returns ``(index, scale)`` or ``None`` when the layout would be too large.
    """
    steps = math.ceil(n / batch_size)
    row_bytes = sum(a[:1].nbytes for a in arrays)
    if epochs * steps * batch_size * row_bytes > FAST_PATH_BYTES:
        return None
    last = n - (steps - 1) * batch_size
    pad = batch_size - last
    scale_one = np.ones(steps * batch_size)
    if pad:
        scale_one[-batch_size:] = batch_size / last
        scale_one[-pad:] = 0.0
    index, scale = [], []
    for _ in range(epochs):
        order = rng.permutation(n) if shuffle else np.arange(n)
        index.append(np.concatenate([order, order[:pad]]) if pad else order)
        scale.append(scale_one)
    return np.concatenate(index), np.concatenate(scale)
