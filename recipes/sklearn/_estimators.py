"""``KerasClassifier``, ``KerasRegressor`` and ``KerasTransformer``."""

import keras
import numpy as np
from sklearn.base import (
    ClassifierMixin,
    ClassNamePrefixFeaturesOutMixin,
    RegressorMixin,
    TransformerMixin,
)
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d, validate_data

from recipes.checks import check_integer
from recipes.sklearn._base import PREDICT_CHUNK, KerasEstimator

_FLOATS = (np.float64, np.float32)
_ONE_HOT_LOSSES = ("categorical_crossentropy", "categorical_focal_crossentropy")

_COMMON_PARAMETERS = """
    model : None, str or callable, default=None
        What to build at each ``fit``: a recipe name from
        ``recipes.list_recipes()``, a builder name such as ``"build_mlp"``, or a
        function returning a compiled (or uncompiled) ``keras.Model``. ``None``
        builds ``recipes.build_mlp``. The builder receives, when it takes them,
        ``input_shape`` (``(n_features,)``, or the preset's own shape when it holds
        ``n_features`` values: the 8x8x1 digits from 64 columns) and
        ``num_classes`` (the output width), then the ``model__<arg>`` parameters.
    optimizer : None, str, dict or keras.optimizers.Optimizer, default=None
        ``None`` keeps the builder's optimizer. ``optimizer__<arg>`` parameters
        (``optimizer__learning_rate``, ``optimizer__momentum``...) are merged in.
        An instance is copied from its config at each fit.
    loss, metrics : default=None
        Passed to the builder (``None``: the builder's defaults).
    epochs : int, default=30
        Epochs per ``fit`` (``partial_fit`` runs one).
    batch_size : int, default=32
        Mini-batch size (capped at the number of samples).
    validation_split : float, default=0.0
        Fraction of the samples, taken from the end as Keras does, held out to
        report ``val_*`` in ``history_`` (and for callbacks such as
        ``callbacks.EarlyStopping``).
    callbacks : list of keras.callbacks.Callback, default=None
        Copied at each fit; the copies used are in ``callbacks_``.
    shuffle : bool, default=True
        Shuffle the samples at each epoch.
    warm_start : bool, default=False
        ``fit`` continues training the fitted model (when the data match it)
        instead of building a new one.
    random_state : None, int or RandomState, default=None
        Seeds the weights, the shuffling and any dropout: with an int, ``fit``
        gives the same model every time. Python's and NumPy's global random states
        are left as they were (Keras' backend seed is set).
    verbose : int, default=0
        Keras' ``fit`` verbosity.
    run_eagerly : bool or "auto", default="auto"
        Run the training step op by op instead of compiled. ``"auto"`` runs fits
        of at most 64 steps eagerly (on small data, compiling the step costs
        more than it saves) and compiles longer ones; compiled fits without
        ``callbacks`` run up to 32 steps per call (``steps_per_execution``).
    **routed
        ``model__<arg>`` (builder), ``optimizer__<arg>`` (optimizer) and
        ``fit__<arg>`` (``Model.fit``) parameters, as in scikeras; they are
        parameters of the estimator like the others (``get_params``,
        ``set_params``, ``GridSearchCV``).
"""

_COMMON_ATTRIBUTES = """
    model_ : keras.Model
        The trained model.
    history_ : dict of lists
        Keras' history, epoch by epoch, over all the fits since the model was built.
    callbacks_ : list
        The callbacks used by the last fit.
    input_shape_ : tuple
        The shape of one sample as the model takes it.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of str
        Feature names, when ``X`` was a DataFrame with string column names.
"""


class _SupervisedMixin:
    """``fit``, ``partial_fit`` and input handling shared by the classifier and the
    regressor."""

    def fit(self, X, y, sample_weight=None):
        """Builds the model (unless ``warm_start``) and trains it for ``epochs``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) (or (n_samples, n_targets) for the
            regressor)
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights, rescaled to average 1 so that they change the
            balance between samples, not the size of the steps. With full-batch
            training (``batch_size >= n_samples``), an integer weight is the same
            as repeating the sample.

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight, self.epochs, partial=False)

    def _validate_x(self, X, reset):
        return validate_data(self, X, reset=reset, dtype=_FLOATS)

    def _fit(self, X, y, sample_weight, epochs, partial, classes=None):
        self._check_params()
        warm = hasattr(self, "model_") and (partial or self.warm_start)
        X, y = validate_data(self, X, y, reset=not warm, dtype=_FLOATS, **self._y_check_params())
        targets, width = self._encode_targets(y, warm, classes)
        weights = self._prepare_weights(sample_weight, X)
        weights = self._class_weights(weights, targets)
        seed = self._seed()
        if not warm:
            self._output_units = width
            self.model_ = self._build_model(X.shape[1], width, seed)
            self.history_ = {}
            self._check_model_output(width)
        targets = self._keras_targets(targets)
        x = self._to_model_input(X)
        self._fit_keras(self.model_, x, targets, weights, epochs, seed, self.history_)
        return self

    def _class_weights(self, weights, targets):
        return weights

    def _check_model_output(self, width):
        try:
            shape = self.model_.outputs[0].shape if self.model_.outputs else None
        except (AttributeError, ValueError):  # subclassed models have no symbolic outputs
            shape = None
        if shape is not None and (len(shape) != 2 or shape[-1] != width):
            raise ValueError(
                f"The model's output shape {tuple(shape)} does not match the targets: "
                f"expected (None, {width})."
            )


class KerasClassifier(ClassifierMixin, _SupervisedMixin, KerasEstimator):
    __doc__ = f"""A scikit-learn classifier around any Keras recipe or builder.

    ``fit`` builds the model (for ``n_features_in_`` inputs and one output per
    class, softmax; a preset with ``num_classes=1`` keeps one sigmoid output for
    two classes), encodes the labels (any type: strings, ints...) and trains it.
    ``predict_proba`` returns the model's outputs; ``predict`` their argmax.

    Parameters
    ----------
    {_COMMON_PARAMETERS.strip()}
    class_weight : None, "balanced" or dict, default=None
        Weights of the classes, multiplied into ``sample_weight``.

    Attributes
    ----------
    classes_ : ndarray
        The class labels.
    {_COMMON_ATTRIBUTES.strip()}

    Examples
    --------
    >>> from recipes.sklearn import KerasClassifier
    >>> clf = KerasClassifier("digits_mlp", epochs=20, optimizer__learning_rate=3e-3,
    ...                       random_state=0).fit(X_train, y_train)
    >>> clf.predict_proba(X_test).shape
    (360, 10)
    """

    def __init__(self, model=None, *, class_weight=None, **kwargs):
        super().__init__(model, **kwargs)
        self.class_weight = class_weight

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Trains for one epoch, building the model at the first call.

        ``classes`` (all the labels ``y`` will ever hold) is required at the first
        call. Returns ``self``.
        """
        first = not hasattr(self, "model_")
        if first and classes is None:
            raise ValueError("`classes` must be passed on the first call to partial_fit.")
        return self._fit(X, y, sample_weight, 1, partial=True, classes=classes if first else None)

    def _y_check_params(self):
        return {}

    def _encode_targets(self, y, warm, classes):
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if warm:
            unseen = np.setdiff1d(np.unique(y), self.classes_)
            if unseen.size:
                raise ValueError(f"`y` has labels {unseen} not in classes_ {self.classes_}.")
            return np.searchsorted(self.classes_, y), None
        encoder = LabelEncoder().fit(y if classes is None else classes)
        if classes is not None and np.setdiff1d(np.unique(y), encoder.classes_).size:
            raise ValueError("`y` has labels that are not in `classes`.")
        if len(encoder.classes_) < 2:
            raise ValueError(
                "KerasClassifier needs samples of at least 2 classes; got 1 class: "
                f"{encoder.classes_[0]!r}."
            )
        self.classes_ = encoder.classes_
        return encoder.transform(y), self._output_width()

    def _output_width(self):
        """One unit per class, or a single sigmoid unit for two classes when the
        preset or ``model__num_classes`` asks for it."""
        builder, preset = self._builder()
        requested = {**preset, **self._route("model")}.get("num_classes")
        if len(self.classes_) == 2 and requested == 1:
            return 1
        fixed = self._route("model").get("num_classes")
        if fixed is not None and fixed != len(self.classes_):
            raise ValueError(
                f"`y` holds {len(self.classes_)} classes, but `model__num_classes` fixes the "
                f"output at {fixed}: drop it (the classifier sets it from `y`) or make it "
                f"{len(self.classes_)}. Received: model__num_classes={fixed!r}"
            )
        return len(self.classes_)

    def _injected_kwargs(self, n_features, target_width):
        return {"input_shape": (n_features,), "num_classes": target_width}

    def _default_loss(self, model):
        width = self._output_units
        return "binary_crossentropy" if width == 1 else "sparse_categorical_crossentropy"

    def _class_weights(self, weights, targets):
        if self.class_weight is None:
            return weights
        class_weight = self.class_weight
        if isinstance(class_weight, dict):
            unknown = set(class_weight) - set(self.classes_.tolist())
            if unknown:
                raise ValueError(f"`class_weight` has labels not in classes_: {unknown}")
            class_weight = {
                int(np.searchsorted(self.classes_, k)): v for k, v in class_weight.items()
            }
        elif class_weight != "balanced":
            raise ValueError(
                "`class_weight` must be None, 'balanced' or a dict. "
                f"Received: class_weight={class_weight!r}"
            )
        return weights * compute_sample_weight(class_weight, targets)

    def _keras_targets(self, targets):
        width = self._output_units
        if width == 1:
            return targets.astype("float32").reshape(-1, 1)
        if _loss_name(self.model_.loss) in _ONE_HOT_LOSSES:
            return np.eye(width, dtype="float32")[targets]
        return targets.astype("int32")

    def predict_proba(self, X):
        """Class probabilities, ``(n_samples, n_classes)``, columns in ``classes_`` order."""
        self._check_fitted()
        X = self._validate_x(X, reset=False)
        outputs = self._forward(self._to_model_input(X))
        if outputs.shape[-1] == 1:
            outputs = np.concatenate([1.0 - outputs, outputs], axis=1)
        outputs = np.clip(outputs, 0.0, None)
        return outputs / outputs.sum(axis=1, keepdims=True)

    def predict(self, X):
        """The most probable class of each sample."""
        probabilities = self.predict_proba(X)
        return self.classes_[np.argmax(probabilities, axis=1)]


class KerasRegressor(RegressorMixin, _SupervisedMixin, KerasEstimator):
    __doc__ = f"""A scikit-learn regressor around any Keras recipe or builder.

    ``fit`` builds the model with one linear output per target (``y`` of shape
    ``(n,)`` or ``(n, n_targets)``: the builder gets ``num_classes=n_targets`` and
    ``output_activation="linear"`` when it takes them) and trains it. The default
    model is ``recipes.build_mlp``, trained with the mean squared error.
    Targets are used as given: scale large ones first (e.g. with
    ``sklearn.compose.TransformedTargetRegressor``).

    Parameters
    ----------
    {_COMMON_PARAMETERS.strip()}

    Attributes
    ----------
    n_outputs_ : int
        Number of targets.
    {_COMMON_ATTRIBUTES.strip()}

    Examples
    --------
    >>> from recipes.sklearn import KerasRegressor
    >>> reg = KerasRegressor(model__hidden_units=(32,), epochs=50, random_state=0)
    >>> reg.fit(X, y).predict(X[:3]).shape
    (3,)
    """

    def partial_fit(self, X, y, sample_weight=None):
        """Trains for one epoch, building the model at the first call. Returns ``self``."""
        return self._fit(X, y, sample_weight, 1, partial=True)

    def _y_check_params(self):
        return {"multi_output": True, "y_numeric": True}

    def _encode_targets(self, y, warm, classes):
        y = np.asarray(y, dtype=np.float64)
        targets = y.reshape(len(y), -1)
        if warm and targets.shape[1] != self.n_outputs_:
            raise ValueError(
                f"`y` has {targets.shape[1]} target(s); the model was fitted with "
                f"{self.n_outputs_}."
            )
        if not warm:
            self.n_outputs_ = targets.shape[1]
            self._y_ndim = y.ndim
        return targets, targets.shape[1]

    def _injected_kwargs(self, n_features, target_width):
        return {
            "input_shape": (n_features,),
            "num_classes": target_width,
            "output_activation": "linear",
        }

    def _keras_targets(self, targets):
        return targets.astype("float32")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def predict(self, X):
        """Predicted targets, ``(n_samples,)`` or ``(n_samples, n_targets)``."""
        self._check_fitted()
        X = self._validate_x(X, reset=False)
        outputs = self._forward(self._to_model_input(X))
        return outputs.reshape(len(X)) if self._y_ndim == 1 else outputs


class KerasTransformer(ClassNamePrefixFeaturesOutMixin, TransformerMixin, KerasEstimator):
    __doc__ = f"""A scikit-learn transformer around an encoder: a Keras model trained
    to reconstruct its input, whose coding layer gives the features.

    ``fit(X)`` trains the model on ``(X, X)`` (``y`` is ignored);
    ``transform(X)`` returns the output of its encoder. A builder receives
    ``input_shape``, and ``num_classes=n_features`` (the width of the
    reconstruction) with ``output_activation="linear"`` when it takes them. The
    encoder is found as follows (``encoder`` parameter):

    - a string names an attribute of the model holding a Keras layer or model
      (``"encoder"``: ``recipes.build_autoencoder`` has one), or a layer whose
      output is taken (``"bottleneck"``, ``"tanh_1"``...);
    - ``None`` looks for a ``model.encoder`` attribute, then a layer named
      ``"bottleneck"``, then, for ``build_mlp`` models, the narrowest hidden layer.

    The default model is ``recipes.build_mlp`` as an autoencoder: ``n_features ->
    n_components (tanh) -> n_features (linear)``, trained with the mean squared
    error; ``model__hidden_units=(64, 8, 64)`` makes it deeper (then the narrowest
    layer, 8, is the coding layer and ``n_components`` is unused).

    Parameters
    ----------
    {_COMMON_PARAMETERS.strip()}
    encoder : None or str, default=None
        Which part of the model ``transform`` runs, as above.
    n_components : int, default=2
        Width of the default model's coding layer.

    Attributes
    ----------
    encoder_ : str
        The attribute (``"attribute:encoder"``) or layer (``"layer:tanh_1"``)
        that ``transform`` runs.
    {_COMMON_ATTRIBUTES.strip()}

    Examples
    --------
    >>> from recipes.sklearn import KerasTransformer
    >>> codes = KerasTransformer(n_components=3, random_state=0).fit_transform(X)
    >>> codes.shape
    (150, 3)
    """

    def __init__(self, model=None, *, encoder=None, n_components=2, **kwargs):
        super().__init__(model, **kwargs)
        self.encoder = encoder
        self.n_components = n_components

    def fit(self, X, y=None, sample_weight=None):
        """Trains the model to reconstruct ``X``. ``y`` is ignored. Returns ``self``."""
        return self._fit(X, sample_weight, self.epochs, partial=False)

    def partial_fit(self, X, y=None, sample_weight=None):
        """Trains for one epoch, building the model at the first call. Returns ``self``."""
        return self._fit(X, sample_weight, 1, partial=True)

    def _fit(self, X, sample_weight, epochs, partial):
        self._check_params()
        if self.model is None:
            check_integer("n_components", self.n_components)
        warm = hasattr(self, "model_") and (partial or self.warm_start)
        X = validate_data(self, X, reset=not warm, dtype=_FLOATS)
        weights = self._prepare_weights(sample_weight, X)
        seed = self._seed()
        if not warm:
            self.model_ = self._build_model(X.shape[1], X.shape[1], seed)
            self.history_ = {}
            self.encoder_ = self._find_encoder()
        x = self._to_model_input(X)
        self._fit_keras(self.model_, x, x, weights, epochs, seed, self.history_)
        return self

    def _injected_kwargs(self, n_features, target_width):
        injected = {
            "input_shape": (n_features,),
            "num_classes": n_features,
            "output_activation": "linear",
        }
        if self.model is None:
            injected.update(activation="tanh", hidden_units=(self.n_components,))
        return injected

    def _find_encoder(self):
        model = self.model_
        if self.encoder is not None:
            if isinstance(getattr(model, self.encoder, None), keras.layers.Layer):
                return f"attribute:{self.encoder}"
            if self.encoder in {layer.name for layer in model.layers}:
                return f"layer:{self.encoder}"
            raise ValueError(
                f"`encoder`={self.encoder!r} is neither an attribute of the model holding "
                f"a Keras layer nor a layer name. Layers: {[layer.name for layer in model.layers]}"
            )
        if isinstance(getattr(model, "encoder", None), keras.layers.Layer):
            return "attribute:encoder"
        names = [layer.name for layer in model.layers]
        if "bottleneck" in names:
            return "layer:bottleneck"
        dense = [layer for layer in model.layers[:-1] if isinstance(layer, keras.layers.Dense)]
        if dense:
            narrowest = min(range(len(dense)), key=lambda i: dense[i].units)
            activation = model.layers[model.layers.index(dense[narrowest]) + 1 :]
            for layer in activation:
                if isinstance(layer, keras.layers.Activation):
                    return f"layer:{layer.name}"
                if isinstance(layer, keras.layers.Dense):
                    break
            return f"layer:{dense[narrowest].name}"
        raise ValueError(
            "Cannot find the encoder: give the model an `encoder` attribute or a layer "
            "named 'bottleneck', or pass encoder=<attribute or layer name>."
        )

    def _encode(self, x):
        kind, name = self.encoder_.split(":", 1)
        if kind == "attribute":
            part = getattr(self.model_, name)
        else:
            inputs = self.model_.inputs
            part = keras.Model(
                inputs[0] if len(inputs) == 1 else inputs, self.model_.get_layer(name).output
            )
        outputs = [
            keras.ops.convert_to_numpy(part(x[i : i + PREDICT_CHUNK], training=False))
            for i in range(0, len(x), PREDICT_CHUNK)
        ]
        return np.concatenate(outputs).reshape(len(x), -1)

    def transform(self, X):
        """The encoder's output for ``X``, ``(n_samples, n_features_out)``, in the
        dtype of ``X`` (float32 or float64)."""
        self._check_fitted()
        X = validate_data(self, X, reset=False, dtype=_FLOATS)
        codes = self._encode(self._to_model_input(X))
        return codes.astype(X.dtype)

    @property
    def _n_features_out(self):
        dummy = np.zeros((1, *self.input_shape_), dtype=keras.config.floatx())
        return self._encode(dummy).shape[1]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.target_tags.required = False
        return tags


def _loss_name(loss):
    if isinstance(loss, str):
        return loss
    return getattr(loss, "name", getattr(loss, "__name__", ""))
