"""Seed 001 as the rabbit notebook writes it: the TensorFlow DCGAN tutorial's code, module globals and all.

This is the baseline the suite compares sketchdraw's train step with, so it stays as close to the
seed's text as runs here: `make_generator_model` / `make_discriminator_model` verbatim, the
`cross_entropy` global, `Adam(1e-3)` for both networks, BATCH_SIZE 256, the whole set converted to
float32 and fed through `from_tensor_slices(...).shuffle(BUFFER_SIZE).batch(BATCH_SIZE)`, and the
`@tf.function train_step(images)` that reads module globals.

Differences, each needed to run it here: the notebook's top-level cells become `setup(rows)` (so
the benchmark can hand it the drawings instead of downloading them; it assigns the same globals),
and the epoch loop keeps only its inner `for image_batch in dataset: train_step(image_batch)` (the
matplotlib grid and checkpoint every 20 epochs are bookkeeping, measured separately in section 3).
This file is a baseline, not an example to follow: STYLE.md item 6 says why.
"""

# ruff: noqa: F841
from __future__ import annotations

import numpy as np
import tensorflow as tf
from tensorflow.keras import layers

BATCH_SIZE = 256
noise_dim = 100
num_examples_to_generate = 16

train_images = None
train_dataset = None
generator = None
discriminator = None
generator_optimizer = None
discriminator_optimizer = None
seed = None


def make_generator_model():
    model = tf.keras.Sequential()
    model.add(layers.Dense(7*7*256, use_bias=False, input_shape=(100,)))
    model.add(layers.BatchNormalization())
    model.add(layers.LeakyReLU())

    model.add(layers.Reshape((7, 7, 256)))
    assert model.output_shape == (None, 7, 7, 256)  # Note: None is the batch size

    model.add(layers.Conv2DTranspose(128, (5, 5), strides=(1, 1), padding='same', use_bias=False))
    assert model.output_shape == (None, 7, 7, 128)
    model.add(layers.BatchNormalization())
    model.add(layers.LeakyReLU())

    model.add(layers.Conv2DTranspose(64, (5, 5), strides=(2, 2), padding='same', use_bias=False))
    assert model.output_shape == (None, 14, 14, 64)
    model.add(layers.BatchNormalization())
    model.add(layers.LeakyReLU())

    model.add(layers.Conv2DTranspose(1, (5, 5), strides=(2, 2), padding='same', use_bias=False, activation='tanh'))
    assert model.output_shape == (None, 28, 28, 1)

    return model


def make_discriminator_model():
    model = tf.keras.Sequential()
    model.add(layers.Conv2D(64, (5, 5), strides=(2, 2), padding='same',
                                     input_shape=[28, 28, 1]))
    model.add(layers.LeakyReLU())
    model.add(layers.Dropout(0.3))

    model.add(layers.Conv2D(128, (5, 5), strides=(2, 2), padding='same'))
    model.add(layers.LeakyReLU())
    model.add(layers.Dropout(0.3))

    model.add(layers.Flatten())
    model.add(layers.Dense(1))

    return model


# This method returns a helper function to compute cross entropy loss
cross_entropy = tf.keras.losses.BinaryCrossentropy(from_logits=True)


def discriminator_loss(real_output, fake_output):
    real_loss = cross_entropy(tf.ones_like(real_output), real_output)
    fake_loss = cross_entropy(tf.zeros_like(fake_output), fake_output)
    total_loss = real_loss + fake_loss
    return total_loss


def generator_loss(fake_output):
    return cross_entropy(tf.ones_like(fake_output), fake_output)


def setup(rows: np.ndarray) -> None:
    """The notebook's top-level cells, from `np.load` on: they fill the module globals."""
    global train_images, train_dataset, generator, discriminator, BUFFER_SIZE
    global generator_optimizer, discriminator_optimizer, seed
    train_images = rows
    train_images = train_images.reshape(train_images.shape[0], 28, 28, 1).astype('float32')
    train_images = (train_images - 127.5) / 127.5  # Normalize the images to [-1, 1]
    BUFFER_SIZE = len(train_images)
    # Batch and shuffle the data
    train_dataset = tf.data.Dataset.from_tensor_slices(train_images).shuffle(BUFFER_SIZE).batch(BATCH_SIZE)

    generator = make_generator_model()
    noise = tf.random.normal([1, 100])
    generated_image = generator(noise, training=False)
    discriminator = make_discriminator_model()
    decision = discriminator(generated_image)

    generator_optimizer = tf.keras.optimizers.Adam(1e-3)
    discriminator_optimizer = tf.keras.optimizers.Adam(1e-3)
    # We will reuse this seed overtime so it's easier to visualize progress
    seed = tf.random.normal([num_examples_to_generate, noise_dim])


# Notice the use of `tf.function`
# This annotation causes the function to be "compiled".
@tf.function
def train_step(images):
    noise = tf.random.normal([BATCH_SIZE, noise_dim])

    with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
        generated_images = generator(noise, training=True)

        real_output = discriminator(images, training=True)
        fake_output = discriminator(generated_images, training=True)

        gen_loss = generator_loss(fake_output)
        disc_loss = discriminator_loss(real_output, fake_output)

    gradients_of_generator = gen_tape.gradient(gen_loss, generator.trainable_variables)
    gradients_of_discriminator = disc_tape.gradient(disc_loss, discriminator.trainable_variables)

    generator_optimizer.apply_gradients(zip(gradients_of_generator, generator.trainable_variables))
    discriminator_optimizer.apply_gradients(zip(gradients_of_discriminator, discriminator.trainable_variables))


def batches_forever():
    """The epoch loop's `for image_batch in dataset:`, epoch after epoch (each epoch reshuffles)."""
    while True:
        yield from train_dataset
