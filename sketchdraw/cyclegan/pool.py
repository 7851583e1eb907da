"""The image pool: a history of generated images shown to a CycleGAN discriminator."""

from __future__ import annotations

import tensorflow as tf


class ImagePool(tf.Module):
    """A history of generated images for a discriminator (Shrivastava et al. 2017; CycleGAN).

    `query(images)`: while the pool is filling, every image is stored and returned as it is; once
    it holds `pool_size` images, each new image is, with probability 1/2, swapped with a random
    stored one (the stored, older image is returned) or else returned as it is. Discriminators so
    see generators' past mistakes, which damps oscillation. Written with TensorFlow variables and a
    seeded `tf.random.Generator`, so it runs inside the compiled step and a checkpoint keeps it.
    """

    def __init__(self, pool_size: int, image_shape, seed: int = 0, name: str | None = None):
        super().__init__(name=name)
        if isinstance(pool_size, bool) or not isinstance(pool_size, int) or pool_size < 0:
            raise ValueError(f"pool_size must be a whole number >= 0, got {pool_size!r}")
        self.pool_size = pool_size
        # One slot even when the pool is off, so a checkpoint always has the same variables.
        # On read: under several replicas each keeps its own pool (a checkpoint keeps the
        # first's); on one device they are plain variables.
        local = dict(trainable=False, synchronization=tf.VariableSynchronization.ON_READ,
                     aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
        self.images = tf.Variable(tf.zeros([max(pool_size, 1), *image_shape]), name="images",
                                  **local)
        self.count = tf.Variable(0, dtype=tf.int32, name="count", **local)
        self.random = tf.random.Generator.from_seed(seed)

    def query(self, images: tf.Tensor) -> tf.Tensor:
        images = tf.convert_to_tensor(images, dtype=tf.float32)
        if self.pool_size == 0:
            return images
        batch = images.shape[0]
        if batch is None:
            raise ValueError("ImagePool.query needs a batch of known size (batch with "
                             "drop_remainder=True)")
        results = []
        for index in range(batch):  # one image at a time: the next may draw the one just stored
            image = images[index]
            full = self.count >= self.pool_size
            use_past = tf.logical_and(full, self.random.uniform([]) < 0.5)
            random_slot = self.random.uniform([], 0, self.pool_size, dtype=tf.int32)
            slot = tf.where(full, random_slot, self.count)
            past = tf.gather(self.images, slot)
            results.append(tf.where(use_past, past, image))
            # Store the new image in an empty slot, or in the slot whose old image was handed out.
            stored = tf.where(tf.logical_or(tf.logical_not(full), use_past), image, past)
            # assign, not scatter_nd_update: the one a replica's own (on-read) copy supports
            self.images.assign(tf.tensor_scatter_nd_update(self.images, [[slot]], [stored]))
            self.count.assign(tf.minimum(self.count + 1, self.pool_size))
        return tf.stack(results)
