"""Deep Q-learning on seed 004's "mouse and cheese" grid game.

The game: a mouse walks on a square board strewn with cheese (reward +0.5) and
poison (reward -1); what it eats disappears. It sees the 25 cells around it (a
vision range of 2 squares) and chooses one of four moves. A game lasts
``max_steps`` moves. A random mouse eats as much poison as cheese; a trained one
heads for the cheese and steps around the poison.

Deep Q-learning (seed 004): the Q-network (``recipes.build_dqn``) is trained on
mini-batches drawn from a replay memory of past moves ``(s, a, r, s', done)``, with
targets ``r + gamma * max_a' Q_target(s', a')`` from a *target network*, a copy of
the Q-network refreshed every ``target_update`` steps. Moves are chosen
epsilon-greedily: a random move with probability epsilon, which decays over the
episodes from exploration to exploitation.

Example:

>>> env = MouseGame(grid_size=8, max_steps=50, seed=0)
>>> model = recipes.build_dqn(kind="conv")
>>> history = train_dqn(model, env, episodes=100)
>>> np.mean(play(env, greedy_policy(model), episodes=10, seed=1000))
"""

import keras
import numpy as np
from keras import ops

from recipes.checks import check_fraction, check_positive_int, check_rate

# Moves: row + 1, row - 1, column + 1, column - 1.
ACTIONS = ("down", "up", "right", "left")
_MOVES = ((1, 0), (-1, 0), (0, 1), (0, -1))
VIEW = 2  # vision range: the mouse sees (2 * VIEW + 1) ** 2 = 25 cells


class MouseGame:
    """The mouse-and-cheese grid game, with ``reset`` and ``step``.

    The board is ``grid_size x grid_size`` cells inside a wall two cells thick.
    At ``reset`` each cell holds cheese with probability ``temperature`` and
    otherwise poison with probability ``temperature`` (the mouse's cell is empty).
    A move into the wall bounces the mouse one cell the other way.

    The state is the mouse's 5x5 view, ``(5, 5, 2)`` float32: channel 0 holds the
    food (0.5 cheese, -1 poison, 0 empty), channel 1 the walls (-1). The mouse is
    at the centre.

    Args:
        grid_size: side of the playing area, >= 3.
        max_steps: moves per game.
        temperature: probability of cheese (and of poison) per cell, in (0, 0.5].
        cheese: reward for eating cheese.
        poison: reward for eating poison.
        seed: seed of the boards and starting cells; ``reset(seed=...)`` reseeds.

    Example:

    >>> env = MouseGame(grid_size=10, seed=0)
    >>> state = env.reset()
    >>> state.shape
    (5, 5, 2)
    >>> state, reward, done = env.step(2)
    """

    num_actions = len(ACTIONS)
    observation_shape = (2 * VIEW + 1, 2 * VIEW + 1, 2)

    def __init__(
        self, grid_size=10, max_steps=100, temperature=0.1, cheese=0.5, poison=-1.0, seed=None
    ):
        self.grid_size = check_positive_int("grid_size", grid_size, minimum=3)
        self.max_steps = check_positive_int("max_steps", max_steps)
        if not isinstance(temperature, (int, float)) or not 0 < temperature <= 0.5:
            raise ValueError(
                f"`temperature` must be in (0, 0.5]. Received: temperature={temperature!r}"
            )
        self.temperature = float(temperature)
        self.cheese = float(cheese)
        self.poison = float(poison)
        self._rng = np.random.default_rng(seed)
        size = grid_size + 2 * VIEW
        self.walls = np.full((size, size), -1.0, "float32")
        self.walls[VIEW:-VIEW, VIEW:-VIEW] = 0.0
        self.board = np.zeros((size, size), "float32")
        self.position = (VIEW, VIEW)
        self.t = 0

    def reset(self, seed=None):
        """Starts a new game (a new board) and returns the first state."""
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        n = self.grid_size
        draws = self._rng.random((2, n, n))
        food = np.where(draws[0] < self.temperature, self.cheese, 0.0)
        food = np.where((food == 0) & (draws[1] < self.temperature), self.poison, food)
        self.board[:] = 0.0
        self.board[VIEW:-VIEW, VIEW:-VIEW] = food
        row, col = self._rng.integers(VIEW, VIEW + n, size=2)
        self.position = (int(row), int(col))
        self.board[self.position] = 0.0
        self.t = 0
        return self.state()

    def step(self, action):
        """Moves the mouse; returns ``(state, reward, done)``."""
        if isinstance(action, bool) or int(action) != action or not 0 <= action < 4:
            raise ValueError(f"`action` must be 0, 1, 2 or 3. Received: action={action!r}")
        d_row, d_col = _MOVES[int(action)]
        row, col = self.position
        if self.walls[row + d_row, col + d_col] < 0:  # bounce off the wall
            d_row, d_col = -d_row, -d_col
        self.position = (row + d_row, col + d_col)
        reward = float(self.board[self.position])
        self.board[self.position] = 0.0
        self.t += 1
        return self.state(), reward, self.t >= self.max_steps

    def state(self):
        """The current ``(5, 5, 2)`` view around the mouse."""
        row, col = self.position
        window = (slice(row - VIEW, row + VIEW + 1), slice(col - VIEW, col + VIEW + 1))
        return np.stack([self.board[window], self.walls[window]], axis=-1)


class ReplayMemory:
    """A ring buffer of transitions ``(state, action, reward, next_state, done)``.

    Args:
        capacity: transitions kept; the oldest are overwritten.
        observation_shape: shape of one state.
        seed: seed of ``sample``.

    Example:

    >>> memory = ReplayMemory(1000, (5, 5, 2))
    >>> memory.add(state, 2, 0.5, next_state, False)
    >>> states, actions, rewards, next_states, dones = memory.sample(32)
    """

    def __init__(self, capacity, observation_shape, seed=None):
        self.capacity = check_positive_int("capacity", capacity)
        shape = tuple(observation_shape)
        self.states = np.zeros((capacity, *shape), "float32")
        self.next_states = np.zeros((capacity, *shape), "float32")
        self.actions = np.zeros(capacity, "int32")
        self.rewards = np.zeros(capacity, "float32")
        self.dones = np.zeros(capacity, "float32")
        self._size = 0
        self._next = 0
        self._rng = np.random.default_rng(seed)

    def __len__(self):
        return self._size

    def add(self, state, action, reward, next_state, done):
        """Stores one transition."""
        i = self._next
        self.states[i] = state
        self.actions[i] = action
        self.rewards[i] = reward
        self.next_states[i] = next_state
        self.dones[i] = float(done)
        self._next = (i + 1) % self.capacity
        self._size = min(self._size + 1, self.capacity)

    def sample(self, batch_size):
        """Draws ``batch_size`` stored transitions uniformly (with replacement)."""
        if self._size == 0:
            raise ValueError("The replay memory is empty: add transitions first.")
        index = self._rng.integers(0, self._size, size=batch_size)
        return (
            self.states[index],
            self.actions[index],
            self.rewards[index],
            self.next_states[index],
            self.dones[index],
        )


class EpsilonGreedy:
    """Epsilon-greedy action choice with multiplicative decay.

    With probability ``epsilon`` a uniformly random action, else the action of
    highest Q-value. ``decay()`` multiplies epsilon by ``decay`` down to ``end``.

    Args:
        start: first epsilon, in [0, 1].
        end: smallest epsilon, in [0, start].
        decay: factor applied by each ``decay()`` call, in (0, 1].
        seed: seed of the random choices.

    Example:

    >>> policy = EpsilonGreedy(start=1.0, end=0.05, decay=0.9)
    >>> action = policy.select(np.array([0.1, 0.7, 0.2, 0.0]))
    >>> policy.decay()
    0.9
    """

    def __init__(self, start=1.0, end=0.05, decay=0.95, seed=None):
        check_fraction("start", start)
        check_fraction("end", end)
        if end > start:
            raise ValueError(f"`end` must be <= `start`. Received: start={start}, end={end}")
        if not isinstance(decay, (int, float)) or not 0 < decay <= 1:
            raise ValueError(f"`decay` must be in (0, 1]. Received: decay={decay!r}")
        self.epsilon = float(start)
        self.end = float(end)
        self.factor = float(decay)
        self._rng = np.random.default_rng(seed)

    def select(self, q_values):
        """Returns an action index for one state's Q-values."""
        q_values = np.asarray(q_values).reshape(-1)
        if self._rng.random() < self.epsilon:
            return int(self._rng.integers(len(q_values)))
        return int(np.argmax(q_values))

    def decay(self):
        """Decays epsilon one step and returns the new value."""
        self.epsilon = max(self.end, self.epsilon * self.factor)
        return self.epsilon


def q_values(model, states):
    """Q-values of a batch of states as a NumPy array ``(batch, num_actions)``."""
    return ops.convert_to_numpy(model(np.asarray(states, "float32"), training=False))


def train_dqn(
    model,
    env,
    episodes=100,
    gamma=0.9,
    batch_size=32,
    memory_size=10_000,
    warmup=100,
    train_every=1,
    target_update=200,
    epsilon=None,
    seed=0,
    verbose=False,
):
    """Deep Q-learning with replay memory, a target network and epsilon-greedy moves.

    Each step: choose a move epsilon-greedily from ``model``'s Q-values, play it,
    store the transition; every ``train_every`` steps (once ``warmup`` transitions
    are stored) fit ``model`` on a batch from the memory towards
    ``r + gamma * (1 - done) * max_a' Q_target(s', a')``. The target network is a
    copy of ``model`` refreshed every ``target_update`` steps. Epsilon decays once
    per episode.

    Args:
        model: a compiled Q-network (``recipes.build_dqn``); trained in place.
        env: an environment with ``reset(seed=None) -> state``,
            ``step(action) -> (state, reward, done)``, ``num_actions`` and
            ``observation_shape`` (e.g. ``MouseGame``).
        episodes: games to play.
        gamma: discount factor, in [0, 1).
        batch_size: transitions per training batch.
        memory_size: capacity of the replay memory.
        warmup: transitions stored before training starts.
        train_every: environment steps between training batches.
        target_update: steps between target-network refreshes.
        epsilon: an ``EpsilonGreedy``; default ``EpsilonGreedy(1.0, 0.05, 0.95)``.
        seed: seed of the games, the memory and the moves; episode ``i`` is played
            on the board ``env.reset(seed=seed + i)``.
        verbose: print each episode's return.

    Returns:
        A dict with ``"returns"`` (per episode), ``"epsilon"`` (per episode),
        ``"losses"`` (per training batch) and ``"target_model"``.

    Example:

    >>> history = train_dqn(recipes.build_dqn(), MouseGame(seed=0), episodes=50)
    >>> history["returns"][-5:]
    """
    check_positive_int("episodes", episodes)
    check_rate("gamma", gamma)
    check_positive_int("batch_size", batch_size)
    check_positive_int("memory_size", memory_size)
    check_positive_int("warmup", warmup, minimum=0)
    check_positive_int("train_every", train_every)
    check_positive_int("target_update", target_update)
    if not getattr(model, "compiled", False):
        raise ValueError("`model` must be compiled (recipes.build_dqn compiles it).")
    epsilon = epsilon or EpsilonGreedy(1.0, 0.05, 0.95, seed=seed)
    memory = ReplayMemory(memory_size, env.observation_shape, seed=seed)
    target = keras.models.clone_model(model)
    target.set_weights(model.get_weights())
    history = {"returns": [], "epsilon": [], "losses": [], "target_model": target}
    step = 0
    for episode in range(episodes):
        state = env.reset(seed=seed + episode)
        total, done = 0.0, False
        while not done:
            action = epsilon.select(q_values(model, state[None])[0])
            next_state, reward, done = env.step(action)
            memory.add(state, action, reward, next_state, done)
            state, total, step = next_state, total + reward, step + 1
            if len(memory) >= max(warmup, 1) and step % train_every == 0:
                history["losses"].append(
                    _train_batch(model, target, memory.sample(batch_size), gamma)
                )
            if step % target_update == 0:
                target.set_weights(model.get_weights())
        history["returns"].append(total)
        history["epsilon"].append(epsilon.epsilon)
        epsilon.decay()
        if verbose:
            print(
                f"episode {episode + 1}/{episodes}: return {total:.2f}, "
                f"epsilon {history['epsilon'][-1]:.3f}"
            )
    return history


def greedy_policy(model, epsilon=0.0, seed=None):
    """A policy ``state -> action`` taking the best action of ``model``, or a
    random one with probability ``epsilon`` (a little randomness keeps a greedy
    agent from pacing between two empty cells)."""
    chooser = EpsilonGreedy(start=epsilon, end=epsilon, decay=1.0, seed=seed)
    return lambda state: chooser.select(q_values(model, state[None])[0])


def random_policy(num_actions=4, seed=None):
    """A policy ``state -> action`` choosing uniformly at random."""
    rng = np.random.default_rng(seed)
    return lambda state: int(rng.integers(num_actions))


def play(env, policy, episodes=10, seed=0):
    """Plays ``episodes`` games with ``policy``; game ``i`` starts from
    ``env.reset(seed=seed + i)``, so two policies can be compared on the same
    boards. Returns the list of returns (sums of rewards)."""
    check_positive_int("episodes", episodes)
    returns = []
    for episode in range(episodes):
        state, total, done = env.reset(seed=seed + episode), 0.0, False
        while not done:
            state, reward, done = env.step(policy(state))
            total += reward
        returns.append(total)
    return returns


def _train_batch(model, target, batch, gamma):
    states, actions, rewards, next_states, dones = batch
    best_next = q_values(target, next_states).max(axis=1)
    wanted = q_values(model, states)
    wanted[np.arange(len(actions)), actions] = rewards + gamma * (1.0 - dones) * best_next
    loss = model.train_on_batch(states, wanted)
    return float(loss[0] if isinstance(loss, (list, tuple)) else loss)
