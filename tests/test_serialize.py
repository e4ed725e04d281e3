"""Tests for tinygrad_lite.serialize: JSON save/load, corrupt files, atomic writes, NumPy."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_lite._files as _files
from tinygrad_lite.nn import ACTIVATIONS, MLP
from tinygrad_lite.serialize import (
    FORMAT_NAME,
    FORMAT_VERSION,
    from_arrays,
    load_model,
    model_to_dict,
    save_model,
    to_arrays,
)


def same_model(a: MLP, b: MLP) -> bool:
    return (a.nin == b.nin and a.nouts == b.nouts and a.activations == b.activations
            and [p.data for p in a.parameters()] == [p.data for p in b.parameters()])


@pytest.fixture
def model() -> MLP:
    return MLP(4, [3, 2], "tanh", output_activation="linear", seed=7)


@pytest.fixture
def saved(tmp_path, model):
    path = tmp_path / "model.json"
    save_model(model, path)
    return path


# --------------------------------------------------------------------------- round trips
@given(st.integers(1, 5), st.lists(st.integers(1, 4), min_size=1, max_size=3),
       st.lists(st.sampled_from(ACTIVATIONS), min_size=3, max_size=3), st.integers(0, 999))
def test_save_load_round_trip_is_exact(tmp_path_factory, nin, nouts, acts, seed):
    model = MLP(nin, nouts, acts[:len(nouts)], seed=seed)
    for p in model.parameters()[::2]:  # awkward floats survive too
        p.data = p.data * 1e-300 if seed % 2 else p.data / 3.0
    path = tmp_path_factory.mktemp("m") / "m.json"
    save_model(model, path)
    loaded = load_model(path)
    assert same_model(model, loaded)
    x = [0.1 * i for i in range(nin)]
    assert [o.data for o in loaded(x)] == [o.data for o in model(x)]
    assert all(p.grad == 0.0 for p in loaded.parameters())


def test_the_file_is_plain_json_with_format_version_architecture_and_weights(saved, model):
    d = json.loads(saved.read_text(encoding="utf-8"))
    assert d["format"] == FORMAT_NAME == "tinygrad_lite.mlp"
    assert d["version"] == FORMAT_VERSION == 1
    assert (d["nin"], d["nouts"], d["activations"]) == (4, [3, 2], ["tanh", "linear"])
    first = model.layers[0].neurons[1]
    assert d["layers"][0]["weights"][1] == [w.data for w in first.w]
    assert d["layers"][0]["biases"][1] == first.b.data
    assert d == model_to_dict(model)


def test_save_accepts_str_paths_and_overwrites(tmp_path, model):
    path = str(tmp_path / "m.json")
    save_model(MLP(2, [1], seed=0), path)
    save_model(model, path)
    assert same_model(load_model(path), model)
    assert os.listdir(tmp_path) == ["m.json"]


def test_numpy_export_import_round_trip(model):
    arrays = to_arrays(model)
    assert [(w.shape, b.shape) for w, b in arrays] == [((3, 4), (3,)), ((2, 3), (2,))]
    assert all(w.dtype == np.float64 for w, _ in arrays)
    rebuilt = from_arrays(arrays, activation=["tanh", "linear"])
    assert same_model(rebuilt, model)
    # the arrays compute the same network: a = act(W a + b)
    x = np.array([0.3, -0.2, 0.9, 0.1])
    (w1, b1), (w2, b2) = arrays
    expected = w2 @ np.tanh(w1 @ x + b1) + b2
    assert [o.data for o in model(x)] == pytest.approx(expected.tolist(), rel=1e-12)
    arrays[0][0][0, 0] = 99.0  # copies: the model is not changed
    assert model.layers[0].neurons[0].w[0].data != 99.0


def test_from_arrays_accepts_lists_and_one_activation():
    net = from_arrays([([[1.0, 2.0]], [0.5])], activation="linear")
    assert net.nin == 2 and net.nouts == [1] and net.activations == ["linear"]
    assert net([1.0, 1.0])[0].data == 3.5
    assert from_arrays([(np.eye(2), np.zeros(2))]).activations == ["sigmoid"]


@pytest.mark.parametrize("arrays, error, match", [
    ([], ValueError, "non-empty"),
    ([(np.zeros((2, 3)),)], ValueError, r"layer 0: expected a \(W, b\) pair"),
    ([(np.zeros(3), np.zeros(3))], ValueError, "2-D"),
    ([(np.zeros((2, 3)), np.zeros(3))], ValueError, r"b must have shape \(2,\)"),
    ([(np.zeros((2, 3)), np.zeros(2)), (np.zeros((1, 3)), np.zeros(1))], ValueError,
     "layer 1: W has 3 inputs but layer 0 has 2 outputs"),
    ([(np.full((1, 1), np.nan), np.zeros(1))], ValueError, "nan or infinite"),
    ([(np.array([["a"]]), np.zeros(1))], TypeError, "real numbers"),
    ([([[1.0, 2.0], [3.0]], [0.0, 0.0])], ValueError, "rectangular"),
])
def test_from_arrays_rejects_bad_arrays(arrays, error, match):
    with pytest.raises(error, match=match):
        from_arrays(arrays)


def test_to_arrays_and_save_reject_non_models(tmp_path):
    with pytest.raises(TypeError, match="MLP"):
        to_arrays([1, 2])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="MLP"):
        save_model("model", tmp_path / "x.json")  # type: ignore[arg-type]
    assert not (tmp_path / "x.json").exists()


# --------------------------------------------------------------------------- corrupt files
def corrupt(path, change) -> None:
    d = json.loads(path.read_text())
    change(d)
    path.write_text(json.dumps(d))


@pytest.mark.parametrize("change, match", [
    (lambda d: d.update(format="keras"), "not a tinygrad_lite model.*format is 'keras'"),
    (lambda d: d.pop("format"), "format is None"),
    (lambda d: d.update(version=2), "unsupported model file version 2"),
    (lambda d: d.update(version="1"), "unsupported model file version '1'"),
    (lambda d: d.update(version=True), "unsupported model file version True"),
    (lambda d: d.pop("layers"), "missing field 'layers'"),
    (lambda d: d.update(nin=0), "'nin' must be a positive integer"),
    (lambda d: d.update(nin=4.0), "'nin' must be a positive integer"),
    (lambda d: d.update(nouts=[3, "2"]), "'nouts' must be a non-empty list"),
    (lambda d: d.update(nouts=[]), "'nouts' must be a non-empty list"),
    (lambda d: d.update(activations=["tanh"]), "'activations' must be a list of 2"),
    (lambda d: d.update(activations=["tanh", "softmax"]), r"activations\[1\] is 'softmax'"),
    (lambda d: d["layers"].pop(), "'layers' must be a list of 2 layers"),
    (lambda d: d["layers"][1].pop("biases"), r"layers\[1\]: expected an object"),
    (lambda d: d["layers"][0]["weights"].pop(), r"layers\[0\].weights: expected 3 rows"),
    (lambda d: d["layers"][0]["weights"][2].pop(), r"layers\[0\].weights\[2\]: expected 4 numbers"),
    (lambda d: d["layers"][1]["biases"].append(0.0), r"layers\[1\].biases: expected 2 numbers"),
    (lambda d: d["layers"][1]["weights"][0].__setitem__(1, "0.5"),
     r"layers\[1\].weights\[0\]\[1\]: expected a number, got str"),
    (lambda d: d["layers"][1]["weights"][0].__setitem__(1, None), "expected a number, got NoneType"),
    (lambda d: d["layers"][1]["weights"][0].__setitem__(1, True), "expected a number, got bool"),
    (lambda d: d["layers"][0]["biases"].__setitem__(0, [1.0]), r"biases\[0\]: expected a number"),
    (lambda d: d["layers"][0].__setitem__("weights", {}), "expected 3 rows"),
])
def test_every_corruption_is_a_clear_value_error(saved, change, match):
    corrupt(saved, change)
    with pytest.raises(ValueError, match=match) as info:
        load_model(saved)
    assert str(saved) in str(info.value)


@pytest.mark.parametrize("text, match", [
    ("", "invalid JSON"),
    ("{\"format\": ", "invalid JSON"),
    ("not json at all", "invalid JSON"),
    ("[1, 2, 3]", "expected a JSON object, got list"),
    ("null", "expected a JSON object, got NoneType"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply|invalid JSON"),
])
def test_non_model_files_are_rejected(tmp_path, text, match):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=match):
        load_model(path)


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "1e400", "1" + "0" * 400])
def test_nan_and_infinite_weights_are_rejected(saved, token):
    text = saved.read_text()
    d = json.loads(text)
    original = repr(d["layers"][0]["weights"][0][0])
    assert original in text
    saved.write_text(text.replace(original, token, 1))
    with pytest.raises(ValueError, match="nan|inf|finite|non-finite"):
        load_model(saved)


def test_binary_garbage_and_pickles_are_rejected_without_executing(tmp_path):
    import pickle

    path = tmp_path / "m.pkl"
    path.write_bytes(pickle.dumps({"format": FORMAT_NAME}))
    with pytest.raises(ValueError, match="not a tinygrad_lite model"):
        load_model(path)
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ValueError, match="not UTF-8"):
        load_model(path)


def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "nope.json")


# --------------------------------------------------------------------------- atomic writes
def test_a_failed_save_leaves_the_old_file_and_no_temporary(tmp_path, model, monkeypatch):
    path = tmp_path / "m.json"
    save_model(model, path)
    before = path.read_bytes()

    def broken_replace(src, dst):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(_files.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        save_model(MLP(2, [1], seed=1), path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.json"]


def test_an_interrupted_write_leaves_no_partial_file(tmp_path, model, monkeypatch):
    path = tmp_path / "new.json"
    real_fdopen = os.fdopen

    class Exploding:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, text):
            self.f.write(text[: len(text) // 2])
            raise KeyboardInterrupt  # Ctrl-C in the middle of writing

    monkeypatch.setattr(_files.os, "fdopen", lambda *a, **k: Exploding(real_fdopen(*a, **k)))
    with pytest.raises(KeyboardInterrupt):
        save_model(model, path)
    assert os.listdir(tmp_path) == []


def test_nan_weights_cannot_be_saved(tmp_path, model):
    model.parameters()[0].data = float("nan")
    with pytest.raises(ValueError, match="nan or infinite"):
        save_model(model, tmp_path / "m.json")
    assert os.listdir(tmp_path) == []


def test_saving_into_a_missing_folder_is_an_os_error(tmp_path, model):
    with pytest.raises(OSError):
        save_model(model, tmp_path / "no" / "such" / "m.json")


# --------------------------------------------------------------------------- .npz
from tinygrad_lite.serialize import load_npz, save_npz  # noqa: E402


@given(st.integers(1, 4), st.lists(st.integers(1, 4), min_size=1, max_size=3),
       st.sampled_from(ACTIVATIONS), st.integers(0, 100))
def test_npz_round_trip_is_exact(tmp_path_factory, nin, nouts, activation, seed):
    path = tmp_path_factory.mktemp("npz") / "m.npz"
    model = MLP(nin, nouts, activation, output_activation="linear", seed=seed)
    save_npz(model, path)
    assert same_model(load_npz(path), model)


def test_npz_holds_plain_arrays_numpy_reads_without_pickle(tmp_path):
    model = MLP(3, [4, 2], "tanh", seed=0)
    save_npz(model, tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as f:
        assert sorted(f.files) == ["W0", "W1", "activations", "b0", "b1", "format", "version"]
        assert f["activations"].tolist() == ["tanh", "tanh"] and str(f["format"]) == FORMAT_NAME
        (w0, b0), _ = to_arrays(model)
        assert np.array_equal(f["W0"], w0) and np.array_equal(f["b0"], b0)
    assert not [p for p in tmp_path.iterdir() if p.name != "m.npz"]  # no temporary left


def write_npz(path, **arrays):
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    return path


GOOD = {"format": np.array(FORMAT_NAME), "version": np.array(FORMAT_VERSION),
        "activations": np.array(["sigmoid"]), "W0": np.ones((2, 3)), "b0": np.zeros(2)}


@pytest.mark.parametrize("change,match", [
    ({"format": np.array("other")}, "not a tinygrad_lite model"),
    ({"version": np.array(99)}, "unsupported version"),
    ({"activations": np.array(["gelu"])}, "activations\\[0\\] is 'gelu'"),
    ({"W0": None}, "missing \\['W0'\\]"),
    ({"W1": np.ones((1, 2))}, "unexpected \\['W1'\\]"),
    ({"b0": np.zeros(3)}, "b must have shape \\(2,\\)"),
    ({"W0": np.full((2, 3), np.inf)}, "nan or infinite"),
    ({"W0": np.array([["a", "b", "c"]] * 2)}, "must hold real numbers"),
])
def test_bad_npz_files_raise_value_errors_naming_the_file(tmp_path, change, match):
    arrays = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    path = write_npz(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match=match) as info:
        load_npz(path)
    assert str(path) in str(info.value)


def test_npz_with_pickled_objects_is_refused_not_unpickled(tmp_path):
    path = write_npz(tmp_path / "evil.npz", **{**GOOD, "W0": np.array([object()] * 6,
                                                                       dtype=object)})
    with pytest.raises(ValueError, match="evil.npz: not a tinygrad_lite .npz file"):
        load_npz(path)
    (tmp_path / "text.npz").write_text("not a zip")
    with pytest.raises(ValueError, match="text.npz: not a tinygrad_lite .npz file"):
        load_npz(tmp_path / "text.npz")
    with pytest.raises(FileNotFoundError):
        load_npz(tmp_path / "missing.npz")


def test_the_file_says_which_number_is_which_parameter_in_the_videos_names(tmp_path):
    model = MLP(4, [6, 7, 2], seed=0)
    path = tmp_path / "m.json"
    save_model(model, path)
    d = json.loads(path.read_text(encoding="utf-8"))
    weight = model.layers[1].neurons[3].w[5]
    assert weight.label == "w⁽²⁾₃,₅" and weight.label in d["notation"]
    assert "layers[1].weights[3][5]" in d["notation"]
    assert d["layers"][1]["weights"][3][5] == weight.data
    assert load_model(path).layers[1].neurons[3].w[5].data == weight.data
