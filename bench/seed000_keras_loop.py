"""Seed 000's Keras loop (the flower article), on the tutorial's models so the architecture is equal.

The article's `DCGAN.train` per batch: random indices into a float32 array, `generator.predict(noise)`,
`discriminator.train_on_batch` on the real and then the generated images, and `gan.train_on_batch`
on a combined model whose discriminator is frozen; Adam(2e-4, 0.5), binary cross-entropy on a
sigmoid output. The loop body below is the article's text.

Differences, each needed to run it under Keras 3 (TF 2.16+) with the same architecture:
- the models are sketchdraw's `tutorial` pair (the article's own are the `upsample` family), the
  discriminator followed by a sigmoid because the article's loss expects probabilities;
- `tf.keras.optimizers.legacy.Adam` no longer exists and one Keras 3 optimizer cannot serve two
  models, so each compiled model gets its own `Adam(2e-4, 0.5)`;
- Keras 3 reads `trainable` when a model first trains, not when it is compiled; the discriminator
  therefore trains one batch before it is frozen for the combined model, which reproduces the Keras 2
  behaviour the article relies on (otherwise the discriminator would never learn);
- `predict(..., verbose=0)`: Keras 3 would print a progress bar for every batch. Leaving it out
  makes this baseline faster, never slower, so sketchdraw's ratio against it errs on the low side.
"""

# ruff: noqa: F841  (the loop body keeps the article's unused loss variables)
from __future__ import annotations

import time

import keras
import numpy as np
from keras import Input, Model, layers

from sketchdraw.models.quickdraw28 import tutorial_discriminator, tutorial_generator


class DCGAN:
    def __init__(self, batch_size: int = 128):
        self.img_shape = (28, 28, 1)
        self.latent_dim = 100

        # Build and compile the discriminator
        self.discriminator = keras.Sequential(
            [Input(shape=self.img_shape), tutorial_discriminator(self.img_shape),
             layers.Activation("sigmoid")], name="Discriminator")
        self.discriminator.compile(loss='binary_crossentropy', optimizer=self.optimizer())
        # Keras 3: build the discriminator's training function while it is still trainable.
        self.discriminator.train_on_batch(np.zeros((batch_size, *self.img_shape), np.float32),
                                          np.ones((batch_size, 1)))

        # Build and compile the generator
        self.generator = tutorial_generator(self.latent_dim)
        self.generator.compile(loss='binary_crossentropy', optimizer=self.optimizer())

        # Build the combined model
        self.gan = self.build_GAN()
        self.seconds = {"predict": 0.0, "discriminator real": 0.0, "discriminator fake": 0.0,
                        "combined": 0.0}

    def optimizer(self):
        return keras.optimizers.Adam(0.0002, 0.5)

    def build_GAN(self):
        self.discriminator.trainable = False
        gan_input = Input(shape=(self.latent_dim,))
        img = self.generator(gan_input)
        gan_output = self.discriminator(img)
        gan = Model(gan_input, gan_output, name='GAN')
        gan.compile(loss='binary_crossentropy', optimizer=self.optimizer())
        return gan

    def train_batches(self, X_train, batch_size: int, batches: int) -> int:
        """`batches` iterations of the article's inner loop; returns the images trained on."""
        real = np.ones((batch_size, 1))
        fake = np.zeros((batch_size, 1))
        clock = time.perf_counter
        for _ in range(batches):
            idx = np.random.randint(0, X_train.shape[0], batch_size)
            imgs = X_train[idx]
            noise = np.random.normal(0, 1, (batch_size, self.latent_dim))
            start = clock()
            gen_imgs = self.generator.predict(noise, verbose=0)
            after_predict = clock()

            d_loss_real = self.discriminator.train_on_batch(imgs, real)
            after_real = clock()
            d_loss_fake = self.discriminator.train_on_batch(gen_imgs, fake)
            after_fake = clock()
            d_loss = 0.5 * np.add(d_loss_real, d_loss_fake)

            noise = np.random.normal(0, 1, (batch_size, self.latent_dim))
            g_loss = self.gan.train_on_batch(noise, real)
            end = clock()
            for name, seconds in (("predict", after_predict - start),
                                  ("discriminator real", after_real - after_predict),
                                  ("discriminator fake", after_fake - after_real),
                                  ("combined", end - after_fake)):
                self.seconds[name] += seconds
        return batches * batch_size


def prepare(rows: np.ndarray) -> np.ndarray:
    """The article's preprocessing: the whole set to float32 in [-1, 1], shaped (N, 28, 28, 1)."""
    data = (rows.astype(np.float32) / 127.5) - 1.0  # Normalize to [-1, 1]
    return data.reshape(-1, 28, 28, 1)
