"""Where does a vision transformer look? Train a tiny ViT and draw its attention.

The offline `shapes` images are cut to one shape each (a circle or a square on a
noisy background) and a tiny vision transformer learns which of the two it is.
The class token's attention, rolled out over the blocks (Abnar and Zuidema
2020), is then drawn over test images: it should gather on the shape.

Run (a few minutes on 2 CPU cores):

    .venv/bin/python examples/vit_attention.py
    .venv/bin/python examples/vit_attention.py --epochs 40 --method last

Outputs: ``runs/vit/attention.png`` (and ``model.keras``).
"""

import argparse
import os

import keras
import numpy as np

import recipes
from recipes import data
from recipes.models.vit import vit_attention_maps
from recipes.plots import plot_attention_overlay

CLASS_NAMES = ("circle", "square")


def one_shape_images(split, num_examples, image_size):
    """Images holding one shape each, labelled 0 (circle) or 1 (square), and
    the shape's pixels."""
    images, masks = data.arrays(
        "shapes", split, num_examples=num_examples, image_size=image_size, max_shapes=1
    )
    labels = masks.reshape(len(masks), -1).max(axis=1) - 1
    return images, labels.astype("int32"), masks[..., 0] > 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=2048)
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--patch-size", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--method", choices=("rollout", "last"), default="rollout")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output-dir", default="runs/vit")
    args = parser.parse_args(argv)
    os.makedirs(args.output_dir, exist_ok=True)
    keras.utils.set_random_seed(args.seed)

    x, y, _ = one_shape_images("train", args.examples, args.image_size)
    x_test, y_test, shape_pixels = one_shape_images("test", 256, args.image_size)
    model = recipes.build_vit(
        input_shape=x.shape[1:],
        num_classes=len(CLASS_NAMES),
        patch_size=args.patch_size,
        embed_dim=48,
        num_heads=4,
        feed_forward_dim=96,
        num_layers=3,
        dropout=0.1,
    )
    model.fit(x, y, validation_split=0.1, epochs=args.epochs, batch_size=64, verbose=2)
    accuracy = model.evaluate(x_test, y_test, verbose=0, return_dict=True)["accuracy"]
    print(f"Test accuracy: {accuracy:.3f}")

    maps = vit_attention_maps(model, x_test, method=args.method)
    predicted = model.predict(x_test[:8], verbose=0).argmax(axis=-1)
    titles = [f"{CLASS_NAMES[p]} ({CLASS_NAMES[t]})" for p, t in zip(predicted, y_test[:8])]
    path = plot_attention_overlay(
        x_test[:8],
        maps[:8],
        os.path.join(args.output_dir, "attention.png"),
        titles=titles,
        title=f"ViT class-token attention ({args.method}); predicted (true)",
    )
    grid, patch = maps.shape[1], args.patch_size
    on_shape = shape_pixels.reshape(-1, grid, patch, grid, patch).any(axis=(2, 4))
    share = float(np.mean([m[s].sum() for m, s in zip(maps, on_shape)]))
    print(
        f"Attention on the patches that touch the shape: {share:.2f} "
        f"(those patches cover {on_shape.mean():.2f} of the image)"
    )
    print(f"Saved {path}")
    model.save(os.path.join(args.output_dir, "model.keras"))


if __name__ == "__main__":
    main()
