"""The ``dqn`` trainer of the Q-networks (seed 004's mouse-and-cheese game): deep
Q-learning on games of ``recipes.rl.MouseGame`` (no dataset), then the greedy
mouse and a random mouse play the same fixed evaluation boards.

Its defaults are those with which ``tests/test_dqn.py`` shows a trained mouse
beating the random one: 8x8 boards, 30 moves a game, cheese and poison each on
a fifth of the cells, 25 games; discount 0.8, a training batch every 2 moves once
the memory holds two batches, the target network refreshed every 50 moves,
epsilon from 1 down to 0.1 (times 0.9 a game). The evaluation mouse keeps an
epsilon of 0.05, which stops a greedy mouse pacing between two empty cells.

A game has no epochs: ``epochs`` (and ``dataset``, ``callbacks``,
``checkpoint_dir``) are refused, ``episodes`` says how long to train.
``batch_size`` is the replay batch (default: the preset's, else 32).

Example:

>>> from recipes.training import train_recipe
>>> result = train_recipe("mouse_dqn_dense", episodes=25, output_dir="runs/mouse")
>>> result.test_metrics   # mean reward over 20 boards, and the random mouse's
{'mean_reward': ..., 'random_mean_reward': ...}
"""

import os
import time

import keras
import numpy as np

from recipes.checks import check_positive_int
from recipes.registry import build
from recipes.rl import EpsilonGreedy, MouseGame, greedy_policy, play, random_policy, train_dqn
from recipes.trainers import Trainer, TrainResult, register_trainer, write_metrics

# The seed of the first evaluation board (board i: EVALUATION_SEED + i), far from
# the training boards (seed, seed + 1, ...).
EVALUATION_SEED = 1_000_000
# train_dqn's settings with which tests/test_dqn.py's mouse beats the random one.
GAME = {"temperature": 0.2}
LEARNING = {"gamma": 0.8, "train_every": 2, "target_update": 50}
EPSILON = {"start": 1.0, "end": 0.1, "decay": 0.9}
EVALUATION_EPSILON = 0.05


def train_mouse_game(request):
    """Trains the requested Q-network on games of the mouse-and-cheese grid and
    scores it against a random mouse on the same evaluation boards.

    Args:
        request: a ``TrainRequest`` for a preset whose builder is ``build_dqn``.
            Its options: ``episodes`` (games to train on), ``grid_size``,
            ``max_steps`` (moves a game) and ``eval_games`` (evaluation boards).
            ``batch_size`` is the replay batch; training starts once the memory
            holds two. ``seed`` seeds the boards (game ``i`` on board ``seed +
            i``), the memory and the moves. With ``output_dir``: ``model.keras``,
            ``curves.png`` and ``curves.csv`` (reward and epsilon per game) and
            ``metrics.json``.

    Returns:
        A ``TrainResult``: ``history`` holds ``reward`` and ``epsilon`` per game
        and ``loss`` per training batch; ``test_metrics`` the mean reward of the
        trained mouse (``mean_reward``) and of a random one
        (``random_mean_reward``) over the ``eval_games`` boards.

    Raises:
        ValueError: ``epochs``, ``dataset``, ``callbacks`` or ``checkpoint_dir``
            given, or a bad option.

    Example:

    >>> result = train_mouse_game(TrainRequest("mouse_dqn_conv", options={...}))
    """
    _check_no_dataset(request)
    options, seed = request.options, request.seed
    episodes = check_positive_int("episodes", options["episodes"])
    eval_games = check_positive_int("eval_games", options["eval_games"])
    batch_size = request.batch_size or request.recipe.fit.get("batch_size", 32)
    batch_size = check_positive_int("batch_size", batch_size)
    with request.policy():
        keras.utils.set_random_seed(seed)
        env = MouseGame(options["grid_size"], options["max_steps"], **GAME, seed=seed)
        model = build(request.name, **request.overrides)
        start = time.perf_counter()
        played = train_dqn(
            model,
            env,
            episodes=episodes,
            batch_size=batch_size,
            warmup=2 * batch_size,
            epsilon=EpsilonGreedy(**EPSILON, seed=seed),
            seed=seed,
            verbose=bool(request.verbose),
            **LEARNING,
        )
        train_seconds = time.perf_counter() - start
        mouse = greedy_policy(model, epsilon=EVALUATION_EPSILON, seed=seed)
        test_metrics = {
            "mean_reward": float(np.mean(play(env, mouse, eval_games, EVALUATION_SEED))),
            "random_mean_reward": float(
                np.mean(play(env, random_policy(seed=seed), eval_games, EVALUATION_SEED))
            ),
        }
    history = {"reward": played["returns"], "epsilon": played["epsilon"], "loss": played["losses"]}
    paths = {}
    if request.output_dir:
        paths = _write_outputs(request, model, history, test_metrics, train_seconds, batch_size)
    return TrainResult(model, history, test_metrics, train_seconds, paths)


def _check_no_dataset(request):
    """Refuses what a game has no use for, naming each argument given."""
    given = {
        key: value
        for key, value in (
            ("epochs", request.epochs),
            ("dataset", request.dataset),
            ("callbacks", request.callbacks or None),
            ("checkpoint_dir", request.checkpoint_dir),
        )
        if value is not None
    }
    if given:
        raise ValueError(
            f"{request.name} trains with the 'dqn' trainer on `episodes` games of the mouse "
            f"game (--episodes): it takes no {', '.join(given)}. Received: "
            + ", ".join(f"{key}={value!r}" for key, value in given.items())
        )


def _write_outputs(request, model, history, test_metrics, train_seconds, batch_size):
    """Writes ``model.keras``, the curves (reward and epsilon per game, through
    ``callbacks.TrainingCurves``) and ``metrics.json``; returns their paths."""
    from callbacks import TrainingCurves

    output_dir = request.output_dir
    curves = TrainingCurves(output_dir, plot_every=len(history["reward"]) + 1)
    curves.on_train_begin()
    for game, values in enumerate(zip(history["reward"], history["epsilon"])):
        curves.on_epoch_end(game, dict(zip(("reward", "epsilon"), values)))
    curves.on_train_end()
    paths = {"model": os.path.join(output_dir, "model.keras")}
    model.save(paths["model"])
    paths.update(curves_png=curves.png_path, curves_csv=curves.csv_path)
    paths["metrics"] = write_metrics(
        output_dir,
        {
            "recipe": request.name,
            **request.options,
            "batch_size": batch_size,
            "evaluation_boards": f"seeds {EVALUATION_SEED} onwards",
            "train_seconds": train_seconds,
            "last_loss": history["loss"][-1] if history["loss"] else None,
            "test": test_metrics,
        },
    )
    return paths


DQN = register_trainer(
    Trainer(
        "dqn",
        train_mouse_game,
        "deep Q-learning on games of the mouse-and-cheese grid (no dataset); the greedy "
        "mouse against a random one on the same boards",
        options={
            "episodes": (int, 25, "games to train on"),
            "grid_size": (int, 8, "side of the board"),
            "max_steps": (int, 30, "moves a game"),
            "eval_games": (int, 20, "evaluation boards, the same for the random mouse"),
        },
    )
)
