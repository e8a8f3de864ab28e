"""Plain PyTorch references: eager ``nn.Module``s (no ``torch.compile``) of the
MLP, ``cifar10_vgg`` and ResNet-20, with the recipe's optimizer and loss, and
``TorchRunner``, a hand-written training loop with the same batches as the Keras
runners. Imported only when ``torch`` is.

Keras adds an L2 penalty ``l2 * sum(w ** 2)`` to the loss; the same gradient in
PyTorch is ``weight_decay = 2 * l2`` on the same kernels (Adam's coupled decay).
Keras' Adam has ``epsilon=1e-7``, PyTorch's ``1e-8``: the references use 1e-7.
Keras batch-norm ``momentum=0.9`` is PyTorch's ``momentum=0.1``.
"""

import math
import time

import numpy as np
import torch
from torch import nn

ADAM_EPSILON = 1e-7
_AUTOCAST = {"float32": None, "mixed_bfloat16": torch.bfloat16, "mixed_float16": torch.float16}


def device():
    """The first CUDA GPU, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def mlp(input_shape=(28, 28, 1), num_classes=10, hidden_units=(64, 32)):
    """``mnist_mlp``: flatten, ReLU linear layers; SGD(0.01).

    Returns:
        ``(model, optimizer)``, the model on ``device()``.

    Example:

    >>> model, optimizer = mlp()
    >>> sum(p.numel() for p in model.parameters())
    52650
    """
    stack, width = [nn.Flatten()], math.prod(input_shape)
    for units in hidden_units:
        stack += [nn.Linear(width, units), nn.ReLU()]
        width = units
    model = nn.Sequential(*stack, nn.Linear(width, num_classes)).to(device())
    return model, torch.optim.SGD(model.parameters(), lr=0.01)


def vgg(
    input_shape=(32, 32, 3),
    num_classes=10,
    blocks=((32, 64), (128, 128), (256, 256)),
    dense_units=(1024, 512),
    dropout=0.05,
):
    """``cifar10_vgg``: 3x3 convolutions (batch norm after each block's first),
    max-pooling, dropout, linear layers; Adam(1e-3).

    Returns:
        ``(model, optimizer)``, the model on ``device()``.

    Example:

    >>> model, optimizer = vgg()
    >>> sum(p.numel() for p in model.parameters())
    5852170
    """
    height, width, channels = input_shape
    stack = []
    for block in blocks:
        for i, filters in enumerate(block):
            stack.append(nn.Conv2d(channels, filters, 3, padding=1))
            if i == 0:
                stack.append(nn.BatchNorm2d(filters, eps=1e-3, momentum=0.1))
            stack.append(nn.ReLU(inplace=True))
            channels = filters
        stack.append(nn.MaxPool2d(2))
        height, width = height // 2, width // 2
    stack += [nn.Dropout(dropout), nn.Flatten()]
    features = channels * height * width
    for units in dense_units:
        stack += [nn.Linear(features, units), nn.ReLU(inplace=True)]
        features = units
    stack += [nn.Dropout(dropout), nn.Linear(features, num_classes)]
    model = nn.Sequential(*stack).to(device())
    return model, torch.optim.Adam(model.parameters(), lr=1e-3, eps=ADAM_EPSILON)


def _conv_bn(in_channels, out_channels, kernel_size, stride):
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride, kernel_size // 2, bias=False),
        nn.BatchNorm2d(out_channels, eps=1e-5, momentum=0.1),
    )


class BasicBlock(nn.Module):
    """He et al.'s basic block: two 3x3 conv-BN, a 1x1 conv-BN shortcut when the
    shape changes, ReLU after the sum.

    Example:

    >>> BasicBlock(16, 32, stride=2)(torch.zeros(1, 16, 8, 8)).shape
    torch.Size([1, 32, 4, 4])
    """

    def __init__(self, in_channels, out_channels, stride):
        super().__init__()
        self.first = _conv_bn(in_channels, out_channels, 3, stride)
        self.second = _conv_bn(out_channels, out_channels, 3, 1)
        self.shortcut = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = _conv_bn(in_channels, out_channels, 1, stride)

    def forward(self, x):
        y = self.second(torch.relu(self.first(x)))
        return torch.relu(self.shortcut(x) + y)


def resnet(input_shape=(32, 32, 3), num_classes=10, depth=20, filters=16, l2=1e-4):
    """``cifar10_resnet20``: the CIFAR ResNet of depth ``6n + 2``; Adam(1e-3) with
    the L2 penalty on conv and linear kernels.

    Returns:
        ``(model, optimizer)``, the model on ``device()``.

    Example:

    >>> model, optimizer = resnet()
    >>> sum(p.numel() for p in model.parameters())
    272474
    """
    stack = [_conv_bn(input_shape[-1], filters, 3, 1), nn.ReLU(inplace=True)]
    channels = filters
    for stage in range(3):
        for block in range((depth - 2) // 6):
            stride = 2 if stage and not block else 1
            stack.append(BasicBlock(channels, filters * 2**stage, stride))
            channels = filters * 2**stage
    stack += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_classes)]
    model = nn.Sequential(*stack).to(device())
    kernels = [p for p in model.parameters() if p.ndim > 1]
    others = [p for p in model.parameters() if p.ndim <= 1]
    groups = [{"params": kernels, "weight_decay": 2 * l2}, {"params": others, "weight_decay": 0}]
    return model, torch.optim.Adam(groups, lr=1e-3, eps=ADAM_EPSILON)


def count_parameters(model):
    """Trainable parameters of a ``torch.nn.Module`` (batch-norm statistics are
    buffers, not parameters: compare with Keras' trainable count)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


class TorchRunner:
    """Timing windows of an eager PyTorch training loop over the same batches as
    the Keras runners: forward, cross-entropy, backward, optimizer step, with
    the running loss and accuracy kept on the device as Keras keeps its metrics.

    Args:
        model: an ``nn.Module`` returning logits, on ``device()``.
        optimizer: its optimizer.
        x: NumPy inputs, channels last (images are moved to channels first once).
        y: integer labels.
        batch_size: examples per step.
        precision: ``"float32"``, ``"mixed_bfloat16"`` or ``"mixed_float16"``
            (``torch.autocast``; float16 with a ``GradScaler``).

    Example:

    >>> runner = TorchRunner(*mlp(), x, y, batch_size=32)
    >>> seconds = runner.run(epochs=2)
    """

    def __init__(self, model, optimizer, x, y, batch_size, precision="float32"):
        self.model = model.train()
        self.optimizer = optimizer
        self.device = next(model.parameters()).device
        self.x = np.ascontiguousarray(np.moveaxis(x, -1, 1)) if x.ndim == 4 else x
        self.y = y.astype("int64")
        self.batch_size = batch_size
        self.examples = len(y)
        self.autocast = _AUTOCAST[precision]
        self.scaler = torch.amp.GradScaler(
            self.device.type, enabled=self.autocast is torch.float16
        )
        self.loss = nn.CrossEntropyLoss()
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # fixed shapes: cuDNN picks its fastest

    def _batch(self, array, first):
        return torch.from_numpy(array[first : first + self.batch_size]).to(self.device)

    def run(self, epochs=1):
        start = time.perf_counter()
        total_loss = torch.zeros((), device=self.device)
        correct = torch.zeros((), device=self.device)
        for first in list(range(0, self.examples, self.batch_size)) * epochs:
            x, y = self._batch(self.x, first), self._batch(self.y, first)
            with torch.autocast(
                self.device.type, dtype=self.autocast, enabled=self.autocast is not None
            ):
                logits = self.model(x)
            loss = self.loss(logits.float(), y)
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
            total_loss += loss.detach()
            correct += (logits.argmax(dim=1) == y).sum()
        (total_loss + correct).item()  # waits for the device
        return time.perf_counter() - start
