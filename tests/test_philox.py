import numpy as np
import pytest
import tensorflow as tf

from rnn_rbm.ops import philox

# Known answers of Philox4x32-10 from Random123's kat_vectors: (counter, key) -> output.
KNOWN_ANSWERS = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]


@pytest.mark.parametrize("counter, key, expected", KNOWN_ANSWERS)
def test_philox_block_matches_random123(counter, key, expected):
    words = philox.philox4x32(tuple(tf.constant([c], tf.uint32) for c in counter),
                              tuple(tf.constant(k, tf.uint32) for k in key))
    assert tuple(int(w.numpy()[0]) for w in words) == expected


def test_philox_block_matches_tensorflows_kernel():
    # TensorFlow's stateless Philox: block j of the output has counter (counter + j), the
    # 64-bit key and counter words split low half first.
    key, low, high = 0x0123456789ABCDEF, 0xFFFFFFFFFFFFFFFE, 0x00000000DEADBEEF  # low wraps into high
    expected = tf.raw_ops.StatelessRandomUniformFullIntV2(
        shape=[12], key=tf.constant([key], tf.uint64), counter=tf.constant([low, high], tf.uint64),
        alg=1, dtype=tf.uint32).numpy().reshape(3, 4)
    counters = [(low + j) % 2**64 + ((high + (low + j) // 2**64) << 64) for j in range(3)]
    words = philox.philox4x32(
        tuple(tf.constant([(c >> (32 * i)) & 0xFFFFFFFF for c in counters], tf.uint32) for i in range(4)),
        (tf.constant(key & 0xFFFFFFFF, tf.uint32), tf.constant(key >> 32, tf.uint32)))
    np.testing.assert_array_equal(np.stack([w.numpy() for w in words], axis=1), expected)


def test_words_depend_only_on_seed_stream_and_position():
    seed = tf.constant([1, 2, 3, 4], tf.uint32)
    whole = philox.random_words(24, 7, seed, stream=5).numpy()
    np.testing.assert_array_equal(philox.random_words(8, 7, seed, 5, row_offset=12).numpy(), whole[12:20])
    np.testing.assert_array_equal(philox.random_words(3, 7, seed, 5).numpy(), whole[:3])
    others = [philox.random_words(24, 7, s, t).numpy() for s, t in
              ((seed, 6), (philox.substream(seed, 1), 5), (seed + 1, 5))]
    for other in others:
        assert np.mean(other == whole) < 0.01
    assert len(np.unique(whole)) == whole.size


def test_bernoulli_has_the_right_mean_and_independent_units():
    logits = np.array([-9.0, -3.0, -0.5, 0.0, 0.7, 2.5, 6.0], np.float32)
    seed = tf.constant([9, 8, 7, 6], tf.uint32)
    draws = philox.bernoulli_logits(tf.constant(np.tile(logits, (40_000, 1))), seed, stream=0).numpy()
    assert set(np.unique(draws)) <= {0.0, 1.0}
    p = 1 / (1 + np.exp(-logits.astype(np.float64)))
    assert np.all(np.abs(draws.mean(axis=0) - p) < 4.5 * np.sqrt(p * (1 - p) / len(draws)) + 1e-4)
    # Rows 4m..4m+3 share a Philox block: their draws must still be independent.
    half = draws[:, 3].reshape(-1, 4)
    joint = np.mean(half[:, 0] * half[:, 1])
    assert abs(joint - 0.25) < 4.5 * np.sqrt(0.25 * 0.75 / len(half))
    assert abs(np.corrcoef(draws[:-1, 3], draws[1:, 3])[0, 1]) < 0.03
