import numpy as np
import pytest

from core.base.errors import InputError
from core.data import folders as datasets
from core.data import mnist
from tests.conftest import stripes


def test_load_mnist_npz_and_find_in_data_dir(mnist_npz, tmp_path, monkeypatch):
    data = mnist.load_mnist_npz(mnist_npz)
    assert data.x_train.shape == (600, 28, 28) and data.y_test.shape == (100,)
    monkeypatch.setenv("CNNLAB_DATA_DIR", str(mnist_npz.parent))
    assert mnist.find_mnist() == mnist_npz
    assert mnist.load_mnist().source == str(mnist_npz)


def test_bad_mnist_files(tmp_path):
    with pytest.raises(InputError, match="not found"):
        mnist.load_mnist_npz(tmp_path / "nope.npz")
    text = tmp_path / "fake.npz"
    text.write_text("not a zip")
    with pytest.raises(InputError, match="not a readable .npz"):
        mnist.load_mnist_npz(text)
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, images=np.zeros((2, 28, 28)))
    with pytest.raises(InputError, match="lacks the MNIST arrays"):
        mnist.load_mnist_npz(wrong)
    shapes = tmp_path / "shapes.npz"
    np.savez(
        shapes, x_train=np.zeros((3, 28, 28)), y_train=np.zeros(2), x_test=np.zeros((1, 28, 28)), y_test=np.zeros(1)
    )
    with pytest.raises(InputError, match="x_train has 3 images but y_train has 2 labels"):
        mnist.load_mnist_npz(shapes)
    with pytest.raises(InputError, match="Received a folder"):
        mnist.load_mnist_npz(tmp_path)


def test_mnist_offline_message_says_where_to_put_the_file(monkeypatch):
    import keras

    def offline():
        raise OSError("no network")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    with pytest.raises(InputError, match=r"Put mnist.npz .*data.*mnist.npz"):
        mnist.load_mnist()


def test_scan_skips_and_reports_bad_files(image_folder):
    scan = datasets.scan_image_folder(image_folder)
    assert scan.class_names == ["horizontal", "vertical"]
    assert scan.counts() == {"horizontal": 20, "vertical": 20}
    skipped = {p.split("/")[-1]: r for p, r in ((s.path, s.reason) for s in scan.skipped)}
    assert set(skipped) == {"corrupt.png", "notes.txt"}
    assert "not an image file type" in skipped["notes.txt"]


def test_scan_errors(tmp_path):
    with pytest.raises(InputError, match="not found"):
        datasets.scan_image_folder(tmp_path / "missing")
    one = tmp_path / "one"
    (one / "only").mkdir(parents=True)
    stripes("h").save(one / "only" / "a.png")
    with pytest.raises(InputError, match="at least 2 class"):
        datasets.scan_image_folder(one)
    few = tmp_path / "few"
    for cls in ("a", "b"):
        (few / cls).mkdir(parents=True)
        for i in range(3 if cls == "a" else 6):
            stripes("h", seed=i).save(few / cls / f"{i}.png")
    with pytest.raises(InputError, match=r"at least 5 readable images.*a \(3\)"):
        datasets.scan_image_folder(few)


def test_scan_train_test_layout(tmp_path):
    root = tmp_path / "tt"
    for split, n in (("train", 6), ("test", 2)):
        for cls in ("x", "y"):
            (root / split / cls).mkdir(parents=True)
            for i in range(n):
                stripes("h" if cls == "x" else "v", seed=i).save(root / split / cls / f"{i}.png")
    scan = datasets.scan_image_folder(root)
    assert len(scan.train_files) == 12 and len(scan.test_files) == 4
    (root / "test" / "z").mkdir()
    with pytest.raises(InputError, match="same classes"):
        datasets.scan_image_folder(root)


def test_stratified_split_is_deterministic_disjoint_and_stratified():
    labels = np.array([0] * 100 + [1] * 40)
    a = datasets.stratified_split(labels, (0.7, 0.15, 0.15), seed=3)
    b = datasets.stratified_split(labels, (0.7, 0.15, 0.15), seed=3)
    c = datasets.stratified_split(labels, (0.7, 0.15, 0.15), seed=4)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[2], c[2])
    joined = np.concatenate(a)
    assert sorted(joined.tolist()) == list(range(140))  # a partition
    tr, va, te = a
    assert (labels[te] == 0).sum() == 15 and (labels[te] == 1).sum() == 6
    assert (labels[va] == 1).sum() == 6 and len(tr) == 140 - len(va) - len(te)
    with pytest.raises(InputError):
        datasets.stratified_split(labels, (0.5, 0.5, 0.5))


def test_list_datasets(tmp_path, image_folder, mnist_npz):
    found = datasets.list_datasets(tmp_path)
    assert found["mnist"] == [str(mnist_npz)]
    assert found["folders"] == [str(image_folder)]


def test_load_image_arrays_shape(image_folder):
    scan = datasets.scan_image_folder(image_folder)
    x = datasets.load_image_arrays(scan.train_files[:3], 16, "rgb")
    assert x.shape == (3, 16, 16, 3) and x.dtype == np.float32


def test_mnist_found_in_a_mnist_subfolder(tmp_path, monkeypatch, mnist_npz):
    # The shared data folder keeps MNIST at mnist/mnist.npz.
    root = tmp_path / "shared"
    (root / "mnist").mkdir(parents=True)
    (root / "mnist" / "mnist.npz").write_bytes(mnist_npz.read_bytes())
    monkeypatch.setenv("CNNLAB_DATA_DIR", str(root))
    assert mnist.find_mnist() == root / "mnist" / "mnist.npz"
    assert datasets.list_datasets()["mnist"] == [str(root / "mnist" / "mnist.npz")]


def test_pipelines_do_not_autotune_so_an_ending_iterator_never_waits():
    """With tf.data's autotuning on, each epoch's end could wait seconds for its tuning thread (core.data.folders)."""
    import keras

    from core.metrics.classes import predict_probs
    from core.models.table_net import make_dataset as table_dataset

    x = np.random.default_rng(0).random((10, 8, 8, 1)).astype(np.float32)
    y = np.eye(2, dtype=np.float32)[[0, 1] * 5]
    shift = keras.Sequential([keras.layers.RandomTranslation(0.1, 0.1)])
    train = datasets.make_dataset(x, y, 4, shuffle=True, seed=1, augment=shift)
    pipelines = [train, datasets.make_dataset(x, y, 4), datasets.input_batches(x, 4),
                 table_dataset({"a": np.arange(10.0)}, np.arange(10.0), 4, shuffle_seed=0)]  # fmt: skip
    assert [ds.options().autotune.enabled for ds in pipelines] == [False] * 4
    assert [len(b[0]) for b in train] == [4, 4, 2]  # still every example once an epoch, in batches
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(2, "softmax")])
    np.testing.assert_allclose(predict_probs(model, x, batch_size=4), model(x).numpy(), rtol=1e-5, atol=1e-6)
