"""Train the `shapes_unet` recipe on the offline `shapes` set and save an overlay.

A U-Net learns to label every pixel as background, circle or square. The run takes
about a minute on two CPU cores and writes `runs/shapes_unet/overlay.png`: for a few
test images, the image, its true mask and the predicted mask.

    python examples/shapes_unet.py
"""

import os

import numpy as np

import recipes
from recipes import data
from recipes.augment import build_augmentation
from recipes.plots import plot_segmentation

IMAGE_SIZE = 32  # the preset's 64 works too, about four times slower
EPOCHS = 8
BATCH_SIZE = 16
OUTPUT_DIR = "runs/shapes_unet"

# Data: images and integer masks (0 background, 1 circle, 2 square), no download.
train = data.load("shapes", "train", batch_size=BATCH_SIZE, image_size=IMAGE_SIZE)
validation = data.load("shapes", "validation", batch_size=BATCH_SIZE, image_size=IMAGE_SIZE)
x_test, y_test = data.arrays("shapes", "test", image_size=IMAGE_SIZE)

# Model: the preset at our image size, with flips that the model undoes on its masks.
model = recipes.build(
    "shapes_unet",
    input_shape=(IMAGE_SIZE, IMAGE_SIZE, 3),
    learning_rate=3e-3,
    augment=build_augmentation(flip="horizontal_and_vertical", seed=0),
)
model.fit(train, validation_data=validation, epochs=EPOCHS, verbose=2)

# Evaluate once on the test split, then look at the result.
scores = model.evaluate(x_test, y_test, verbose=0, return_dict=True)
all_background = np.mean(y_test == 0) / 3  # mean IoU of predicting background everywhere
print(
    f"test: pixel accuracy {scores['accuracy']:.3f}, mean IoU {scores['mean_iou']:.3f} "
    f"(all background: {all_background:.3f})"
)
os.makedirs(OUTPUT_DIR, exist_ok=True)
path = plot_segmentation(
    x_test[:6],
    y_test[:6],
    model.predict(x_test[:6], verbose=0),
    os.path.join(OUTPUT_DIR, "overlay.png"),
    class_names=data.SHAPE_CLASSES,
    title="shapes_unet",
)
print(f"wrote {path}")
