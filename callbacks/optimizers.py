"""Optimizer wrappers that act on every step inside compiled training:
``AutoClip`` (adaptive gradient clipping, which also records gradient norms),
``ScheduledMomentum`` (momentum that follows a schedule, e.g. ``OneCycle``),
``Lookahead`` (an exponential moving average of the weights, copied back into the
model every few steps, as airbench94 trains) and ``FreezeAfter`` (variables that
stop moving after a given step); and ``ConvMuon``, Keras' ``Muon`` extended to
convolution kernels (airbench94_muon's optimizer for its filters).

Fixed clipping needs no wrapper: every Keras optimizer takes ``clipnorm`` (each
gradient's norm), ``global_clipnorm`` (the norm of all gradients together) or
``clipvalue`` (each element), e.g. ``keras.optimizers.Adam(1e-3, global_clipnorm=1.0)``
or, through a builder, ``optimizer={"class_name": "adam", "config":
{"global_clipnorm": 1.0}}``.

A wrapper keeps its state in optimizer variables (``optimizer.variables`` lists
its own, then the wrapped optimizer's), so training stays compiled on TensorFlow
and JAX (where ``stateless_apply`` threads them through the jitted step) and works
eagerly on PyTorch. Wrappers nest: ``AutoClip(ScheduledMomentum(SGD(...), lr))``.

Example:

>>> from callbacks import AutoClip, GradientNormMonitor
>>> model.compile(optimizer=AutoClip(keras.optimizers.SGD(0.1), percentile=10), loss="mse")
>>> model.fit(x, y, callbacks=[GradientNormMonitor()])  # logs grad_norm per epoch
"""

import contextlib
import re

import keras
from keras import ops


class OptimizerWrapper(keras.optimizers.Optimizer):
    """Base class of optimizers that transform the gradients (or the wrapped
    optimizer's hyper-parameters) before handing them to ``inner_optimizer``.

    Subclasses create their variables in ``build_own(var_list)`` and implement
    ``prepare(grads)``, which runs inside the training step (reading and assigning
    their variables and the wrapped optimizer's) and returns the gradients to apply
    and a dict of attributes to set on the wrapped optimizer while it applies them,
    and/or ``after_apply(trainable_variables)``, which runs once the wrapped
    optimizer has updated the variables (its step counter already advanced) and
    may assign them and the wrapper's own variables. The learning rate and the step
    counter are the wrapped optimizer's.
    """

    def __init__(self, inner_optimizer, name=None):
        if not isinstance(inner_optimizer, keras.optimizers.Optimizer):
            raise ValueError(
                "`inner_optimizer` must be a keras.optimizers.Optimizer instance. "
                f"Received: inner_optimizer={inner_optimizer!r}"
            )
        super().__init__(learning_rate=0.0, name=name)
        self.inner_optimizer = inner_optimizer

    def build_own(self, var_list):
        """Creates the wrapper's own variables (with ``self.add_variable``)."""

    def prepare(self, grads):
        """Returns ``(grads, overrides)`` for this step; see the class docstring."""
        return grads, {}

    def after_apply(self, trainable_variables):
        """Acts on the updated variables; see the class docstring."""

    def build(self, var_list):
        self.build_own(var_list)
        self.inner_optimizer.build(var_list)
        super().build(var_list)

    @property
    def variables(self):
        return self._variables + self.inner_optimizer.variables

    def apply(self, grads, trainable_variables=None):
        if not self.built:
            if trainable_variables is None:
                raise ValueError(
                    f"{type(self).__name__} is not built: pass `trainable_variables` "
                    "or call `optimizer.build(variables)` first."
                )
            self.build(list(trainable_variables))
            self.built = True
        grads, overrides = self.prepare(list(grads))
        with _overridden(self.inner_optimizer, overrides):
            self.inner_optimizer.apply(grads, trainable_variables)
        self.after_apply(self._trainable_variables)

    def stateless_apply(self, optimizer_variables, grads, trainable_variables):
        if not self.built:
            raise ValueError(
                f"To call `stateless_apply`, {type(self).__name__} must be built. "
                "Call `optimizer.build(trainable_variables)` first."
            )
        trainable = list(zip(self._trainable_variables, trainable_variables))
        mapping = list(zip(self.variables, optimizer_variables)) + trainable
        with keras.StatelessScope(state_mapping=mapping) as scope:
            grads, overrides = self.prepare(list(grads))
        own = [scope.get_current_value(v) for v in self._variables]
        inner = [scope.get_current_value(v) for v in self.inner_optimizer.variables]
        with _overridden(self.inner_optimizer, overrides):
            trainable_values, inner = self.inner_optimizer.stateless_apply(
                inner, grads, trainable_variables
            )
        mapping = list(zip(self._variables, own)) + list(
            zip(self._trainable_variables, trainable_values)
        )
        mapping += list(zip(self.inner_optimizer.variables, inner))
        with keras.StatelessScope(state_mapping=mapping) as scope:
            self.after_apply(self._trainable_variables)
        own = [scope.get_current_value(v) for v in self._variables]
        trainable_values = [scope.get_current_value(v) for v in self._trainable_variables]
        return trainable_values, own + list(inner)

    @property
    def learning_rate(self):
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, learning_rate):
        self.inner_optimizer.learning_rate = learning_rate

    @property
    def iterations(self):
        return self.inner_optimizer.iterations

    def scale_loss(self, loss):
        return self.inner_optimizer.scale_loss(loss)

    def finalize_variable_values(self, var_list):
        self.inner_optimizer.finalize_variable_values(var_list)

    def get_config(self):
        return {
            "name": self.name,
            "inner_optimizer": keras.saving.serialize_keras_object(self.inner_optimizer),
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        inner = keras.saving.deserialize_keras_object(
            config.pop("inner_optimizer"), custom_objects=custom_objects
        )
        return cls(inner, **config)


@contextlib.contextmanager
def _overridden(optimizer, overrides):
    saved = {key: getattr(optimizer, key) for key in overrides}
    try:
        for key, value in overrides.items():
            object.__setattr__(optimizer, key, value)
        yield
    finally:
        for key, value in saved.items():
            object.__setattr__(optimizer, key, value)


def global_norm(grads):
    """The L2 norm of all gradients together (``None`` entries skipped), in float32."""
    squares = [ops.sum(ops.square(ops.cast(g, "float32"))) for g in grads if g is not None]
    return ops.sqrt(ops.sum(ops.stack(squares)))


def percentile_of_first(values, count, percentile):
    """``np.percentile(values[:count], percentile)`` (linear interpolation), with
    ``count`` a tensor, so that it traces. ``count`` must be at least 1."""
    size = ops.shape(values)[0]
    valid = ops.arange(size) < count
    ordered = ops.sort(ops.where(valid, values, float("inf")))
    position = (percentile / 100.0) * ops.cast(count - 1, "float32")
    low = ops.cast(ops.floor(position), "int32")
    high = ops.minimum(low + 1, ops.cast(count - 1, "int32"))
    below, above = ops.take(ordered, low), ops.take(ordered, high)
    return below + (position - ops.cast(low, "float32")) * (above - below)


@keras.saving.register_keras_serializable(package="recipes")
class AutoClip(OptimizerWrapper):
    """Adaptive gradient clipping (AutoClip, Seetharaman et al. 2020).

    At each step the global gradient norm is appended to a history, and the
    gradients are rescaled so that their global norm is at most the
    ``percentile``-th percentile of that history (the current norm included, so
    the first step is never clipped). Spikes far above the usual norm are cut
    down to a typical size, while ordinary steps pass unchanged. The history is a
    ring buffer of the last ``history_size`` norms kept in optimizer variables;
    non-finite norms are not recorded and leave the gradients as they are.

    With ``percentile=None`` nothing is clipped: the wrapper only records the
    norms, for ``GradientNormMonitor``.

    Args:
        inner_optimizer: the ``keras.optimizers.Optimizer`` that applies the
            clipped gradients.
        percentile: the percentile of the norm history to clip to, in (0, 100],
            or ``None`` to only record. The paper uses 10.
        history_size: number of recent norms kept (the paper keeps all of them).
        name: optimizer name.

    Example:

    >>> optimizer = AutoClip(keras.optimizers.SGD(0.01, momentum=0.9), percentile=10)
    >>> model.compile(optimizer=optimizer, loss="mse")
    """

    def __init__(self, inner_optimizer, percentile=10.0, history_size=1000, name=None):
        if percentile is not None and (
            isinstance(percentile, bool)
            or not isinstance(percentile, (int, float))
            or not 0 < percentile <= 100
        ):
            raise ValueError(
                f"`percentile` must be in (0, 100] or None. Received: percentile={percentile!r}"
            )
        if isinstance(history_size, bool) or not isinstance(history_size, int) or history_size < 1:
            raise ValueError(
                f"`history_size` must be an integer >= 1. Received: history_size={history_size!r}"
            )
        super().__init__(inner_optimizer, name=name)
        self.percentile = None if percentile is None else float(percentile)
        self.history_size = history_size

    def build_own(self, var_list):
        self.norm_history = self.add_variable(
            shape=(self.history_size,),
            dtype="float32",
            initializer="zeros",
            aggregation="none",
            name="norm_history",
        )
        self.norm_count = self.add_variable(
            shape=(), dtype="int32", initializer="zeros", aggregation="none", name="norm_count"
        )

    def prepare(self, grads):
        norm = global_norm(grads)
        finite = ops.isfinite(norm)
        count = self.norm_count.value
        slot = ops.arange(self.history_size) == count % self.history_size
        history = ops.where(ops.logical_and(slot, finite), norm, self.norm_history.value)
        count = count + ops.cast(finite, "int32")
        self.norm_history.assign(history)
        self.norm_count.assign(count)
        if self.percentile is None:
            return grads, {}
        recorded = ops.maximum(ops.minimum(count, self.history_size), 1)
        threshold = percentile_of_first(history, recorded, self.percentile)
        clip = ops.logical_and(finite, norm > threshold)
        scale = ops.where(clip, threshold / ops.where(clip, norm, 1.0), 1.0)
        return [None if g is None else g * ops.cast(scale, g.dtype) for g in grads], {}

    def get_config(self):
        return {
            **super().get_config(),
            "percentile": self.percentile,
            "history_size": self.history_size,
        }


@keras.saving.register_keras_serializable(package="recipes")
class ScheduledMomentum(OptimizerWrapper):
    """Momentum that follows a schedule, step by step, inside compiled training.

    Keras optimizers hold momentum as a constant; this wrapper sets it at every
    step from ``schedule`` evaluated at the optimizer's step counter. For SGD it
    rescales the momentum buffer by ``m_t / m_0`` before SGD's own update
    ``v <- m_0 v - lr g``, which makes the update exactly ``v <- m_t v - lr g``;
    for Adam-like optimizers (those with ``beta_1``: Adam, AdamW, Adamax, Nadam,
    Lion) it passes ``beta_1 = m_t`` to the update, as PyTorch's ``OneCycleLR``
    does.

    Args:
        inner_optimizer: ``keras.optimizers.SGD`` with ``momentum > 0`` and
            ``nesterov=False``, or an optimizer with a ``beta_1``.
        schedule: an object with a ``momentum(step)`` method (``OneCycle``) or a
            serializable callable of the step returning the momentum.
        name: optimizer name.

    Example:

    >>> lr = OneCycle(0.1, total_steps=1000)
    >>> optimizer = ScheduledMomentum(keras.optimizers.SGD(lr, momentum=0.95), lr)
    """

    def __init__(self, inner_optimizer, schedule, name=None):
        super().__init__(inner_optimizer, name=name)
        if not (callable(getattr(schedule, "momentum", None)) or callable(schedule)):
            raise ValueError(
                "`schedule` must have a `momentum(step)` method or be a callable of the "
                f"step. Received: schedule={schedule!r}"
            )
        if isinstance(inner_optimizer, keras.optimizers.SGD):
            if not inner_optimizer.momentum or inner_optimizer.nesterov:
                raise ValueError(
                    "ScheduledMomentum needs SGD with momentum > 0 and nesterov=False. "
                    f"Received: momentum={inner_optimizer.momentum}, "
                    f"nesterov={inner_optimizer.nesterov}"
                )
            self._kind = "sgd"
        elif isinstance(getattr(inner_optimizer, "beta_1", None), (int, float)):
            self._kind = "beta_1"
        else:
            raise ValueError(
                "`inner_optimizer` must be SGD with momentum or have a `beta_1` (Adam, "
                f"AdamW, Adamax, Nadam, Lion). Received: {type(inner_optimizer).__name__}"
            )
        self.schedule = schedule

    def current_momentum(self, step=None):
        """The scheduled momentum at ``step`` (default: the current step)."""
        step = self.iterations if step is None else step
        function = getattr(self.schedule, "momentum", self.schedule)
        return ops.cast(function(step), "float32")

    def prepare(self, grads):
        momentum = self.current_momentum()
        inner = self.inner_optimizer
        if self._kind == "sgd":
            factor = momentum / inner.momentum
            for buffer in inner.momentums:
                buffer.assign(buffer.value * ops.cast(factor, buffer.dtype))
            return grads, {}
        if keras.backend.backend() == "torch":  # its fused updates want Python floats
            momentum = float(ops.convert_to_numpy(momentum))
        return grads, {"beta_1": momentum}

    def get_config(self):
        return {
            **super().get_config(),
            "schedule": keras.saving.serialize_keras_object(self.schedule),
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["schedule"] = keras.saving.deserialize_keras_object(
            config["schedule"], custom_objects=custom_objects
        )
        return super().from_config(config, custom_objects)


def _matching(variables, names):
    """The variables whose path contains one of ``names``."""
    return [v for v in variables if any(name in v.path for name in names)]


@keras.saving.register_keras_serializable(package="recipes")
class Lookahead(OptimizerWrapper):
    """airbench94's lookahead: an exponential moving average (EMA) of the weights,
    updated every ``every`` steps and copied back into the model each time.

    From step ``start_step`` on, at each step ``t`` that is a multiple of ``every``
    the average moves towards the weights, ``ema <- rho_t ema + (1 - rho_t) w``
    with ``rho_t = decay ** every * (t / total_steps) ** power`` (the first such
    step only copies the weights), and the weights become the average. With
    ``sync_every`` (airbench: every epoch) and at ``total_steps``, the weights are
    also set to the average. The decay grows over training: the weights move fast
    early and are averaged strongly at the end. Only trainable variables are
    averaged (airbench94 also averages batch-norm statistics).

    Args:
        inner_optimizer: the optimizer whose steps are averaged.
        total_steps: length of training in steps (sets the decay's growth).
        start_step: steps before the average starts (airbench94: 3 epochs).
        every: steps between updates of the average (airbench94: 5).
        decay: the decay per step (airbench94: 0.95).
        power: the growth exponent of the decay (airbench94: 3).
        sync_every: steps between copies of the average into the weights
            besides the updates (airbench94: one epoch), or ``None``.
        name: optimizer name.

    Example:

    >>> optimizer = Lookahead(keras.optimizers.SGD(0.1, momentum=0.85), total_steps=476,
    ...                       start_step=144, sync_every=48)
    """

    def __init__(
        self,
        inner_optimizer,
        total_steps,
        start_step=0,
        every=5,
        decay=0.95,
        power=3.0,
        sync_every=None,
        name=None,
    ):
        for key, value, minimum in (
            ("total_steps", total_steps, 1),
            ("start_step", start_step, 0),
            ("every", every, 1),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ValueError(
                    f"`{key}` must be an integer >= {minimum}. Received: {key}={value!r}"
                )
        if sync_every is not None and (not isinstance(sync_every, int) or sync_every < 1):
            raise ValueError(
                "`sync_every` must be None or an integer >= 1. "
                f"Received: sync_every={sync_every!r}"
            )
        if not 0 <= decay <= 1 or power < 0:
            raise ValueError(
                "`decay` must be in [0, 1] and `power` >= 0. "
                f"Received: decay={decay!r}, power={power!r}"
            )
        super().__init__(inner_optimizer, name=name)
        self.total_steps = total_steps
        self.start_step = start_step
        self.every = every
        self.decay = float(decay)
        self.power = float(power)
        self.sync_every = sync_every

    @property
    def first_step(self):
        """The step at which the average starts (a copy of the weights)."""
        return -(-(self.start_step + 1) // self.every) * self.every

    def decay_at(self, step):
        """``rho`` at ``step``."""
        fraction = ops.cast(step, "float32") / self.total_steps
        return self.decay**self.every * fraction**self.power

    def build_own(self, var_list):
        self.averages = [
            self.add_variable_from_reference(variable, name="average") for variable in var_list
        ]

    def after_apply(self, trainable_variables):
        step = self.iterations
        first = step == self.first_step
        update = ops.logical_and(step > self.first_step, step % self.every == 0)
        sync = step == self.total_steps
        if self.sync_every:
            sync = ops.logical_or(sync, step % self.sync_every == 0)
        write = ops.logical_or(update, ops.logical_and(sync, step >= self.first_step))
        rho = self.decay_at(step)
        for variable, average in zip(trainable_variables, self.averages):
            weights, ema = variable.value, average.value
            moved = ops.cast(rho, ema.dtype) * ema + ops.cast(1 - rho, ema.dtype) * weights
            ema = ops.where(first, weights, ops.where(update, moved, ema))
            average.assign(ema)
            variable.assign(ops.where(write, ema, weights))

    def get_config(self):
        return {
            **super().get_config(),
            "total_steps": self.total_steps,
            "start_step": self.start_step,
            "every": self.every,
            "decay": self.decay,
            "power": self.power,
            "sync_every": self.sync_every,
        }


@keras.saving.register_keras_serializable(package="recipes")
class FreezeAfter(OptimizerWrapper):
    """Stops the variables whose path contains one of ``names`` after ``step``
    steps: from then on they keep their value exactly (no gradient step, no
    momentum, no weight decay), as airbench94 stops training its whitening bias
    after 3 epochs. The others train on.

    Args:
        inner_optimizer: the optimizer that trains every variable until then.
        names: parts of variable paths, e.g. ``("whiten_bias",)``.
        step: the number of steps those variables train for.
        name: optimizer name.

    Example:

    >>> optimizer = FreezeAfter(keras.optimizers.SGD(0.1), ("whiten_bias",), step=144)
    """

    def __init__(self, inner_optimizer, names, step, name=None):
        names = (names,) if isinstance(names, str) else tuple(names)
        if not names or not all(isinstance(n, str) and n for n in names):
            raise ValueError(
                f"`names` must be non-empty strings (parts of variable paths). Received: {names!r}"
            )
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise ValueError(f"`step` must be an integer >= 0. Received: step={step!r}")
        super().__init__(inner_optimizer, name=name)
        self.names = names
        self.step = step

    def build_own(self, var_list):
        self.frozen = _matching(var_list, self.names)
        if not self.frozen:
            raise ValueError(
                f"No variable's path contains any of {list(self.names)}. Variables: "
                f"{[v.path for v in var_list]}"
            )
        self.before = [self.add_variable_from_reference(v, name="before") for v in self.frozen]

    def prepare(self, grads):
        for variable, before in zip(self.frozen, self.before):
            before.assign(variable.value)
        return grads, {}

    def after_apply(self, trainable_variables):
        stopped = self.iterations > self.step
        for variable, before in zip(self.frozen, self.before):
            variable.assign(ops.where(stopped, before.value, variable.value))

    def get_config(self):
        return {**super().get_config(), "names": list(self.names), "step": self.step}


@keras.saving.register_keras_serializable(package="recipes")
class ConvMuon(keras.optimizers.Muon):
    """Keras' ``Muon`` that also orthogonalises convolution filters, as
    airbench94_muon trains its convolutions.

    Keras' ``Muon`` applies Muon (momentum, then the Newton-Schulz orthogonalisation
    of the update) to 2-D weights only and hands every other variable to AdamW, so
    convolution kernels never get Muon. Here a kernel of shape ``(*window,
    in_channels, out_channels)`` is seen as the matrix ``(prod(window) *
    in_channels, out_channels)``: its update is orthogonalised and scaled as a 2-D
    weight's would be (Keras' ``lr_adjust``), then given back its shape. Biases,
    normalisation parameters and embeddings (and any ``exclude_layers``) stay with
    AdamW, as in Keras.

    Args:
        learning_rate: the rate of the Muon updates (AdamW's is
            ``learning_rate * adam_lr_ratio``).
        **kwargs: ``keras.optimizers.Muon``'s arguments (``momentum``,
            ``nesterov``, ``ns_steps``, ``rms_rate``, ``weight_decay``,
            ``exclude_layers``...).

    Example:

    >>> model.compile(optimizer=ConvMuon(0.02, exclude_layers=["head"]), loss=...)
    """

    def _should_use_adamw(self, variable):
        if len(variable.shape) in (3, 4, 5):  # 1-D, 2-D and 3-D convolution kernels
            return any(re.search(keyword, variable.path) for keyword in self.exclude_layers)
        return super()._should_use_adamw(variable)

    def _muon_update_step(self, gradient, variable, lr, m):
        if len(variable.shape) == 2:
            return super()._muon_update_step(gradient, variable, lr, m)
        self.assign_add(m, ops.add(gradient, m * (self.momentum - 1)))
        direction = ops.add(gradient, self.momentum * m) if self.nesterov else m
        matrix = ops.reshape(direction, (-1, variable.shape[-1]))
        update = self.lr_adjust(lr * self.zeropower_via_newtonschulz5(matrix, self.ns_steps))
        self.assign_sub(variable, ops.reshape(update, variable.shape))
