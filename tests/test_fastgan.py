"""The few-shot `fastgan64` pair: skip-layer excitation in the generator, a discriminator that also
redraws the real images, the `reconstruction_weight` that adds its error to the discriminator's
loss, and a real Van Gogh run that trains, checkpoints its decoders and resumes."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from sketchdraw import dcgan, losses, models
from sketchdraw.dcgan.data import load_training_images
from sketchdraw.dcgan.networks import build_models
from sketchdraw.dcgan.step import StepOptions, make_train_step
from sketchdraw.models.fastgan64 import fastgan64_discriminator, fastgan64_generator


@pytest.fixture(scope="module")
def paintings(shared_data) -> np.ndarray:
    """Eight real Van Gogh paintings at 64x64, in [-1, 1]."""
    config = dcgan.resolve("vangogh_small", data=str(shared_data / "wikiart" / "vangogh"), limit=8,
                           progress=False)
    images = load_training_images(config)
    assert images.shape == (8, 64, 64, 3)
    return images.astype("float32") / 127.5 - 1.0


def test_the_pair_is_registered_as_self_supervised_and_draws_paintings():
    family = models.get("fastgan64")
    assert family.self_supervised and not models.get("wikiart64").self_supervised
    generator = fastgan64_generator(noise_dim=100)
    drawn = generator(tf.random.normal([3, 100]), training=False).numpy()
    assert drawn.shape == (3, 64, 64, 3) and np.abs(drawn).max() <= 1.0
    # one excitation for each map eight times larger than another: 4 -> 32 and 8 -> 64
    excited = sorted(layer.name for layer in generator.layers if type(layer).__name__ == "Multiply")
    assert excited == ["up32_excited", "up64_excited"]
    assert not any(type(layer).__name__ == "Conv2DTranspose" for layer in generator.layers)


def test_the_excitation_gates_the_large_map_from_the_small_one():
    import keras

    generator = fastgan64_generator(noise_dim=100)
    gate = keras.Model(generator.input, generator.get_layer("sle4to32_gate").output)
    weights = gate(tf.random.normal([4, 100]), training=False).numpy()
    assert weights.shape == (4, 1, 1, 64)  # one weight per channel of the 32x32 map
    assert ((weights > 0) & (weights < 1)).all()
    assert np.abs(weights[0] - weights[1]).max() > 0  # it depends on the noise, through the 4x4 map


def test_at_128x128_a_third_excitation_and_decoders_at_half_size(shared_data):
    # `image_size=128` on a painting run: the same pair one doubling larger
    config = dcgan.resolve("vangogh_small", data=str(shared_data / "wikiart" / "vangogh"), image_size=128,
                           limit=4, progress=False)
    generator, discriminator = build_models(config)
    assert generator.output_shape == (None, 128, 128, 3)
    excited = sorted(layer.name for layer in generator.layers if type(layer).__name__ == "Multiply")
    assert excited == ["up128_excited", "up32_excited", "up64_excited"]
    images = load_training_images(config).astype("float32") / 127.5 - 1.0
    assert images.shape == (4, 128, 128, 3)
    logits, errors = discriminator.logits_and_reconstruction_loss(images, 1)
    assert logits.shape == (4, 1) and errors.shape == (4,)
    assert discriminator.whole_decoder.output_shape == (None, 64, 64, 3)


def test_the_generator_is_saved_and_loaded_as_a_keras_file(tmp_path):
    import keras

    generator = fastgan64_generator(noise_dim=16)
    noise = tf.random.normal([2, 16])
    generator.save(tmp_path / "generator.keras")
    loaded = keras.models.load_model(tmp_path / "generator.keras")
    np.testing.assert_allclose(loaded(noise, training=False), generator(noise, training=False), atol=1e-6)


def test_the_discriminator_gives_one_logit_and_a_reconstruction_error_per_image(paintings):
    discriminator = fastgan64_discriminator()
    assert discriminator.output_shape == (None, 1)
    logits = discriminator(paintings, training=False)
    same_logits, errors = discriminator.logits_and_reconstruction_loss(paintings, 3, training=False)
    np.testing.assert_allclose(same_logits, logits, atol=1e-5)
    assert errors.shape == (8,) and (errors.numpy() >= 0).all()
    # each quarter of a painting is a different target for the part decoder
    quarters = [float(tf.reduce_mean(discriminator.logits_and_reconstruction_loss(paintings, part)[1]))
                for part in range(4)]
    assert len(set(quarters)) == 4
    # the decoders are the discriminator's weights (trained and checkpointed with it), and only the
    # reconstruction reaches them
    owned = {id(variable) for variable in discriminator.trainable_variables}
    for decoder in (discriminator.whole_decoder, discriminator.part_decoder):
        assert decoder.trainable_variables and all(id(variable) in owned for variable in decoder.trainable_variables)
    with tf.GradientTape(persistent=True) as tape:
        plain = tf.reduce_sum(discriminator(paintings, training=True))
        error = tf.reduce_sum(discriminator.logits_and_reconstruction_loss(paintings, 0, training=True)[1])
    decoder_weights = discriminator.whole_decoder.trainable_variables
    assert all(gradient is None for gradient in tape.gradient(plain, decoder_weights))
    assert all(gradient is not None for gradient in tape.gradient(error, decoder_weights))


@pytest.mark.slow  # ~18 s of optimisation: the step's gradients reach the decoders in the test above
def test_training_on_the_reconstruction_lowers_it(paintings):
    import keras

    tf.keras.utils.set_random_seed(0)
    discriminator = fastgan64_discriminator()
    optimizer = keras.optimizers.Adam(2e-3)

    def error() -> float:
        return float(tf.reduce_mean(discriminator.logits_and_reconstruction_loss(paintings, 1)[1]))

    before = error()
    for _ in range(40):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(discriminator.logits_and_reconstruction_loss(paintings, 1, training=True)[1])
        optimizer.apply_gradients(zip(tape.gradient(loss, discriminator.trainable_variables),
                                      discriminator.trainable_variables))
    assert error() < 0.8 * before, (before, error())


def test_the_step_adds_the_reconstruction_and_refuses_a_plain_discriminator(paintings):
    import keras

    generator, discriminator = fastgan64_generator(noise_dim=8), fastgan64_discriminator()
    batch = tf.constant(paintings)

    def discriminator_loss(weight: float, discriminator) -> float:
        step = make_train_step(generator, discriminator, keras.optimizers.Adam(0.0),
                               keras.optimizers.Adam(0.0), losses.get("hinge"), 8, 8,
                               noise_generator=tf.random.Generator.from_seed(3),
                               options=StepOptions(reconstruction_weight=weight))
        return float(step(batch)["discriminator_loss"])

    without, with_reconstruction = discriminator_loss(0.0, discriminator), discriminator_loss(1.0, discriminator)
    assert with_reconstruction > without + 0.1  # a fresh decoder's error is about 1 a pixel
    plain = models.get("wikiart64").build_discriminator()
    with pytest.raises(ValueError, match="self-supervised discriminator"):
        discriminator_loss(1.0, plain)


def test_the_settings_refuse_a_reconstruction_without_a_decoder_and_a_transposed_fastgan(shared_data):
    data = str(shared_data / "wikiart" / "vangogh")
    with pytest.raises(ValueError, match="model 'wikiart64' has none: use model 'fastgan64'"):
        dcgan.resolve("vangogh_small", data=data, model="wikiart64", reconstruction_weight=1.0)
    with pytest.raises(ValueError, match="reconstruction_weight must not be negative"):
        dcgan.resolve("vangogh_small", data=data, model="fastgan64", reconstruction_weight=-1.0)
    with pytest.raises(ValueError, match="only doubles by resizing"):
        build_models(dcgan.resolve("vangogh", data=data, model="fastgan64"))


def test_a_van_gogh_run_trains_checkpoints_the_decoders_and_resumes(shared_data, tmp_path):
    # vangogh_small is the fastgan64 pair with its decoders' loss
    config = dcgan.resolve("vangogh_small", data=str(shared_data / "wikiart" / "vangogh"), limit=32, epochs=1,
                           runs_dir=str(tmp_path), progress=False)
    assert (config.model, config.reconstruction_weight) == ("fastgan64", 1.0)
    first = dcgan.train(config)
    decoder = first.models["discriminator"].part_decoder
    trained = [variable.numpy() for variable in decoder.trainable_variables]
    fresh = fastgan64_discriminator().part_decoder.trainable_variables
    assert any(np.abs(weights - variable.numpy()).max() > 0 for weights, variable in zip(trained, fresh))
    # the checkpoint holds the decoders' trained weights, so a resumed run goes on with them
    checkpoint = tf.train.latest_checkpoint(tmp_path / "vangogh_small" / "checkpoints")
    shapes = {weights.shape for weights in trained}
    values = [tf.train.load_variable(checkpoint, name) for name, shape in tf.train.list_variables(checkpoint)
              if tuple(shape) in shapes and "OPTIMIZER_SLOT" not in name]
    assert all(any(value.shape == weights.shape and np.array_equal(value, weights) for value in values)
               for weights in trained)
    history = (tmp_path / "vangogh_small" / "history.csv").read_text().splitlines()
    assert len(history) == 2 and "nan" not in history[1]

    config.epochs = 2
    dcgan.train(config)
    lines = (tmp_path / "vangogh_small" / "history.csv").read_text().splitlines()
    assert len(lines) == 3 and lines[:2] == history  # the first epoch was not trained again
