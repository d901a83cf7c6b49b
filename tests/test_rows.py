"""rows.py: the chunk layout every compiled per-frame function shares (cdk.py, nade.py)."""

import numpy as np
import pytest
import tensorflow as tf

from rnn_rbm.ops import rows as row_chunks


@pytest.mark.parametrize("most, quantum", [(512, 64), (1024, 64), (8, 4)])
def test_layout_takes_the_fewest_equal_chunks_a_multiple_of_the_quantum(most, quantum):
    sizes = set()
    for rows in range(0, 3 * most + 3):
        size, count = (int(x) for x in row_chunks.layout(tf.constant(rows), most, quantum))
        assert size % quantum == 0 and size <= most
        assert count == max(-(-rows // most), 1)  # no more chunks than `most` rows each need
        assert (count - 1) * size < rows <= count * size or rows == 0  # the last chunk is not empty
        if rows:
            sizes.add(size)
    assert len(sizes) <= most // quantum  # the shapes XLA compiles


def test_split_then_join_gives_the_rows_back_and_shares_a_row_vector():
    x = tf.reshape(tf.range(21 * 3, dtype=tf.float32), [21, 3])
    size, count = row_chunks.layout(tf.constant(21), 8, 4)
    chunks = row_chunks.split(x, 21, size, count)
    assert chunks.shape.as_list()[-1] == 3 and tuple(chunks.shape[:2]) == (3, 8)
    np.testing.assert_array_equal(row_chunks.join(chunks, 21).numpy(), x.numpy())
    np.testing.assert_array_equal(chunks[2, 5:].numpy(), 0)  # the padding rows
    shared = row_chunks.join(row_chunks.split(tf.constant([1.0, 2.0]), 21, size, count), 21)
    np.testing.assert_array_equal(shared.numpy(), np.tile([1.0, 2.0], (21, 1)))
