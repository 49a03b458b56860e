"""keras.utils.split_dataset, pad_sequences and the small Dataset the data utilities return."""

import numpy as np
import pytest

import minicnn
from minicnn.utils import pad_sequences, split_dataset
from minicnn.utils.dataset import Dataset


def test_split_dataset_sizes_order_and_shuffle():
    x, y = np.arange(20.0).reshape(10, 2), np.arange(10)
    left, right = split_dataset((x, y), left_size=0.8)
    assert (len(left), len(right)) == (8, 2)
    assert [int(b) for _, b in left] == list(range(8)) and [int(b) for _, b in right] == [8, 9]
    np.testing.assert_array_equal(next(iter(right))[0], x[8])
    left, right = split_dataset(x, right_size=3)
    assert (len(left), len(right)) == (7, 3)
    left, right = split_dataset(x, left_size=2, right_size=3)  # samples in the middle left out
    assert (len(left), len(right)) == (2, 3) and list(right)[0].tolist() == x[7].tolist()
    a = [int(v) for v, in split_dataset((y,), left_size=5, shuffle=True, seed=3)[0]]
    b = [int(v) for v, in split_dataset((y,), left_size=5, shuffle=True, seed=3)[0]]
    assert a == b and a != list(range(5)) and len(set(a)) == 5


def test_split_dataset_of_batches_is_rebatched_and_fit_takes_it():
    x = np.random.default_rng(0).normal(size=(40, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    batched = Dataset.from_tensor_slices((x, y)).batch(8)
    train, test = split_dataset(batched, left_size=0.75)
    assert [len(b[0]) for b in train] == [8, 8, 8, 6] and [len(b[0]) for b in test] == [8, 2]
    minicnn.utils.set_random_seed(0)
    model = minicnn.Sequential([minicnn.Input((4,)), minicnn.layers.Dense(2)])
    model.compile(optimizer="adam",
                  loss=minicnn.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(train, validation_data=test, epochs=2, verbose=0)
    assert model.optimizer.iterations == 8


def test_split_dataset_errors():
    x = np.arange(10)
    with pytest.raises(ValueError, match="at least one"):
        split_dataset(x)
    with pytest.raises(ValueError, match="left_size should be"):
        split_dataset(x, left_size=10)
    with pytest.raises(ValueError, match="right_size should be"):
        split_dataset(x, right_size=1.5)
    with pytest.raises(ValueError, match="more than the 10 samples"):
        split_dataset(x, left_size=6, right_size=5)
    with pytest.raises(TypeError, match="left_size must be"):
        split_dataset(x, left_size="half")
    with pytest.raises(TypeError, match="dataset must be"):
        split_dataset(3, left_size=1)


def test_dataset_map_batch_unbatch_take_skip():
    ds = Dataset.from_tensor_slices({"a": np.arange(5), "b": np.arange(5) * 2})
    batches = list(ds.batch(2, drop_remainder=True))
    assert len(batches) == 2 and batches[1]["b"].tolist() == [4, 6]
    assert [int(e["a"]) for e in ds.batch(2).unbatch()] == list(range(5))
    pairs = Dataset.from_tensor_slices((np.arange(6), np.arange(6))).map(lambda a, b: (a, a + b))
    assert [int(b) for _, b in pairs.skip(4)] == [8, 10] and pairs.skip(4).cardinality() == 2
    assert len(pairs.batch(4)) == 2 and len(pairs.batch(4, drop_remainder=True)) == 1
    with pytest.raises(TypeError, match="unknown"):
        len(pairs.unbatch())
    with pytest.raises(ValueError, match="different lengths"):
        Dataset.from_tensor_slices((np.arange(3), np.arange(4)))


def test_pad_sequences_as_keras_documents_it():
    seqs = [[1], [2, 3], [4, 5, 6]]
    np.testing.assert_array_equal(pad_sequences(seqs), [[0, 0, 1], [0, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(pad_sequences(seqs, value=-1), [[-1, -1, 1], [-1, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(pad_sequences(seqs, padding="post"), [[1, 0, 0], [2, 3, 0], [4, 5, 6]])
    np.testing.assert_array_equal(pad_sequences(seqs, maxlen=2), [[0, 1], [2, 3], [5, 6]])
    np.testing.assert_array_equal(pad_sequences(seqs, maxlen=2, truncating="post"),
                                  [[0, 1], [2, 3], [4, 5]])
    assert pad_sequences(seqs).dtype == np.int32
    out = pad_sequences([np.ones((2, 3)), []], maxlen=3, dtype="float32", value=0.5)
    assert out.shape == (2, 3, 3) and out[0, 0].tolist() == [0.5] * 3 and out[1].max() == 0.5
    assert pad_sequences([[1, 2]], maxlen=0).shape == (1, 0)
    with pytest.raises(ValueError, match="padding must be"):
        pad_sequences(seqs, padding="middle")
    with pytest.raises(ValueError, match="string value"):
        pad_sequences(seqs, value="x")
    with pytest.raises(ValueError, match="without a length"):
        pad_sequences([1, 2])
    with pytest.raises(ValueError, match="sequence 1 has samples of shape"):
        pad_sequences([np.ones((2, 3)), np.ones((2, 4))])
