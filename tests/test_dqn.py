import keras
import numpy as np
import pytest

import recipes
from recipes.rl import (
    VIEW,
    EpsilonGreedy,
    MouseGame,
    ReplayMemory,
    greedy_policy,
    play,
    random_policy,
    train_dqn,
)


def _empty_game():
    env = MouseGame(grid_size=5, max_steps=3, seed=0)
    env.reset()
    env.board[:] = 0.0
    env.position = (VIEW + 2, VIEW + 2)  # the centre of the 5x5 playing area
    return env


def test_mouse_game_rewards_cheese_and_poison_once():
    env = _empty_game()
    row, col = env.position
    env.board[row, col + 1] = 0.5  # cheese to the right
    env.board[row - 1, col + 1] = -1.0  # poison above it
    state = env.state()
    assert state.shape == (5, 5, 2) and state.dtype == np.float32
    assert state[2, 3, 0] == 0.5 and state[1, 3, 0] == -1.0  # the mouse sees them
    state, reward, done = env.step(2)  # right: cheese
    assert (reward, done) == (0.5, False) and env.board[row, col + 1] == 0.0
    _, reward, done = env.step(1)  # up: poison
    assert (reward, done) == (-1.0, False)
    _, reward, done = env.step(0)  # down: back on the eaten cheese
    assert (reward, done) == (0.0, True)  # max_steps reached


def test_mouse_game_walls_bounce_and_show_in_the_view():
    env = _empty_game()
    env.position = (VIEW, VIEW + 2)  # top row of the playing area
    state = env.state()
    assert (state[:2, :, 1] == -1).all() and (state[2:, :, 1] == 0).all()
    env.step(1)  # up, into the wall: bounces down one cell
    assert env.position == (VIEW + 1, VIEW + 2)
    with pytest.raises(ValueError, match="`action` must be 0, 1, 2 or 3"):
        env.step(4)


def test_mouse_game_boards_follow_the_seed_and_temperature():
    env = MouseGame(grid_size=20, temperature=0.2, seed=0)
    first = (env.reset(seed=5), env.board.copy())
    second = (env.reset(seed=5), env.board.copy())
    np.testing.assert_array_equal(first[1], second[1])
    food = env.board[VIEW:-VIEW, VIEW:-VIEW]
    assert 0.1 < np.mean(food == 0.5) < 0.3 and 0.1 < np.mean(food == -1.0) < 0.3
    assert env.board[env.position] == 0.0
    with pytest.raises(ValueError, match="`temperature` must be in"):
        MouseGame(temperature=0.9)


def test_replay_memory_is_a_ring_buffer():
    memory = ReplayMemory(3, (2,), seed=0)
    with pytest.raises(ValueError, match="empty"):
        memory.sample(1)
    for i in range(5):
        memory.add(np.full(2, i), i % 4, float(i), np.full(2, i + 1), i == 4)
    assert len(memory) == 3
    states, actions, rewards, next_states, dones = memory.sample(50)
    assert set(rewards) == {2.0, 3.0, 4.0}  # the two oldest were overwritten
    np.testing.assert_array_equal(next_states[:, 0], states[:, 0] + 1)
    np.testing.assert_array_equal(dones, rewards == 4.0)


def test_epsilon_greedy_explores_then_exploits():
    policy = EpsilonGreedy(start=1.0, end=0.1, decay=0.5, seed=0)
    q = np.array([0.0, 0.0, 5.0, 0.0])
    assert len({policy.select(q) for _ in range(50)}) == 4  # epsilon 1: random
    assert [policy.decay() for _ in range(5)] == [0.5, 0.25, 0.125, 0.1, 0.1]
    greedy = EpsilonGreedy(start=0.0, end=0.0, seed=0)
    assert {greedy.select(q) for _ in range(20)} == {2}
    with pytest.raises(ValueError, match="`end` must be <= `start`"):
        EpsilonGreedy(start=0.1, end=0.5)


@pytest.mark.parametrize("kind", ["dense", "conv"])
def test_build_dqn_trains_and_round_trips(kind, recipe_check):
    model = recipes.build_dqn(kind=kind, hidden_units=(16,), filters=(4,))
    assert model.output_shape == (None, 4)
    assert model.layers[-1].activation is keras.activations.linear
    assert any(isinstance(layer, keras.layers.Conv2D) for layer in model.layers) == (
        kind == "conv"
    )
    rng = np.random.default_rng(0)
    states = rng.normal(size=(32, 5, 5, 2)).astype("float32")
    targets = rng.normal(size=(32, 4)).astype("float32")
    recipe_check(model, states, targets, steps=20)


def test_dqn_presets_and_bad_arguments():
    assert recipes.build("mouse_dqn_conv", compile=False).count_params() > 0
    with pytest.raises(ValueError, match="`kind` must be one of"):
        recipes.build_dqn(kind="lstm")
    with pytest.raises(ValueError, match="`input_shape` must have 3"):
        recipes.build_dqn(kind="conv", input_shape=(50,))
    with pytest.raises(ValueError, match="`gamma` must be in"):
        train_dqn(recipes.build_dqn(), MouseGame(), gamma=1.0)


def test_a_trained_dqn_beats_the_random_mouse():
    keras.utils.set_random_seed(0)
    env = MouseGame(grid_size=8, max_steps=30, temperature=0.2, seed=0)
    model = recipes.build_dqn(kind="dense", hidden_units=(32,), learning_rate=3e-3)
    history = train_dqn(
        model,
        env,
        episodes=25,
        gamma=0.8,
        warmup=64,
        train_every=2,
        target_update=50,
        epsilon=EpsilonGreedy(1.0, 0.1, 0.9, seed=0),
    )
    assert len(history["returns"]) == 25 and history["epsilon"][-1] == pytest.approx(0.1)
    assert history["target_model"] is not model
    # The same 20 boards (seeds 1000-1019) for both mice.
    trained = np.mean(play(env, greedy_policy(model, epsilon=0.05, seed=0), 20, seed=1000))
    random = np.mean(play(env, random_policy(seed=0), 20, seed=1000))
    assert trained > random + 1.5, (trained, random)
    assert trained > 0.5
