"""Sequence to sequence with attention: learn to reverse strings of digits.

The offline `reverse` task gives strings of 10 to 20 digits; the target is the
same digits in reverse order. An LSTM encoder-decoder with additive (Bahdanau)
attention is trained with teacher forcing, then decodes the test strings greedily.
The script prints the exact-match accuracy (every digit right and the end token
in place) and saves the attention weights of one test string as a heatmap: the
bright anti-diagonal shows each output digit read from its mirror position.
With ``--baseline`` the same model without attention is trained on the same
budget for comparison.

Run (a few minutes on 2 CPU cores):

    .venv/bin/python examples/reverse_attention.py
    .venv/bin/python examples/reverse_attention.py --epochs 20 --baseline

Outputs: ``runs/reverse_attention/attention.png`` (and ``model.keras``).
"""

import argparse
import os
import time

import keras

from recipes import data
from recipes.losses.sequence import exact_match
from recipes.models.seq2seq import build_seq2seq
from recipes.plots import plot_attention

TOKEN_NAMES = {data.PAD: "", data.START: "<s>", data.END: "</s>"}


def token_names(ids):
    """Digits as "0".."9", the special tokens by name."""
    return [TOKEN_NAMES.get(int(i), str(int(i) - data.FIRST_DIGIT)) for i in ids]


def train(attention, x, y, args):
    keras.utils.set_random_seed(args.seed)
    model = build_seq2seq(attention=attention, embedding_dim=args.embedding_dim, units=args.units)
    start = time.perf_counter()
    model.fit(x, y, epochs=args.epochs, batch_size=args.batch_size, verbose=2)
    return model, time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=8000, help="training strings")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--units", type=int, default=64)
    parser.add_argument("--embedding-dim", type=int, default=16)
    parser.add_argument("--min-length", type=int, default=10)
    parser.add_argument("--max-length", type=int, default=20)
    parser.add_argument("--attention", choices=("bahdanau", "luong"), default="bahdanau")
    parser.add_argument(
        "--baseline", action="store_true", help="also train the model without attention"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output-dir", default="runs/reverse_attention")
    args = parser.parse_args(argv)

    lengths = {"min_length": args.min_length, "max_length": args.max_length}
    x, y = data.arrays("reverse", "train", num_examples=args.examples, **lengths)
    x_test, y_test = data.arrays("reverse", "test", num_examples=500, **lengths)

    runs = [args.attention] + ([None] if args.baseline else [])
    scores = {}
    for attention in runs:
        model, seconds = train(attention, x, y, args)
        predicted = model.generate(x_test["encoder_inputs"])
        scores[attention] = exact_match(predicted, y_test)
        print(
            f"attention={attention}: exact match {scores[attention]:.3f} on 500 test "
            f"strings ({seconds:.0f} s of training)"
        )
        if attention == args.attention:
            attention_model = model

    os.makedirs(args.output_dir, exist_ok=True)
    attention_model.save(os.path.join(args.output_dir, "model.keras"))
    source = x_test["encoder_inputs"][:1]
    tokens, weights = attention_model.generate(source, return_attention=True)
    length = int((source[0] != data.PAD).sum())
    path = plot_attention(
        weights[0][:, :length],
        os.path.join(args.output_dir, "attention.png"),
        source_tokens=token_names(source[0][:length]),
        target_tokens=token_names(tokens[0]),
        title=f"{args.attention} attention, reverse task",
    )
    print("input:  ", " ".join(token_names(source[0][:length])))
    print("output: ", " ".join(token_names(tokens[0])))
    print(f"attention heatmap: {path}")
    return scores


if __name__ == "__main__":
    main()
