"""A file in the layout of Keras' ~/.keras/datasets/mnist.npz (x_train, y_train, x_test,
y_test; uint8 images 28x28 and labels), written without numpy: the .npy format is a short text
header and the raw array. The digits are drawn here (each class a bar at its own place, jittered
by a pixel), so a small CNN learns them in a few steps; they are not MNIST's."""

from __future__ import annotations

import io
import random
import struct
import zipfile
from pathlib import Path


def npy(descr: str, shape: tuple[int, ...], data: bytes) -> bytes:
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}"
    header += " " * (-(10 + len(header) + 1) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + data


def digits(count: int, seed: int) -> tuple[bytes, bytes]:
    rng = random.Random(seed)
    images, labels = bytearray(), bytearray()
    for i in range(count):
        label = i % 10
        image = bytearray(28 * 28)
        top = 3 + (label // 5) * 13 + rng.randint(-1, 1)
        left = 2 + (label % 5) * 5 + rng.randint(-1, 1)
        for row in range(top, top + 9):
            for col in range(left, left + 3):
                image[row * 28 + col] = rng.randint(200, 255)
        images += image
        labels.append(label)
    return bytes(images), bytes(labels)


def write_mnist_npz(path: Path, train: int = 2000, test: int = 200) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for split, count, seed in (("train", train, 0), ("test", test, 1)):
            images, labels = digits(count, seed)
            archive.writestr(f"x_{split}.npy", npy("|u1", (count, 28, 28), images))
            archive.writestr(f"y_{split}.npy", npy("|u1", (count,), labels))
    path.write_bytes(buffer.getvalue())
    return path
