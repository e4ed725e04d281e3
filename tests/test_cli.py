"""Tests for the ``tinygrad-lite`` command line (tinygrad_lite.cli)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import tinygrad_lite
from tinygrad_lite.cli import build_parser, main
from tinygrad_lite.nn import MLP
from tinygrad_lite.serialize import load_model, save_model

ROOT = Path(__file__).resolve().parent.parent


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_error_line(err: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("tinygrad-lite: error: ")
    assert "Traceback" not in err


@pytest.fixture(scope="module")
def trained_model(tmp_path_factory) -> Path:
    """A model from a tiny real training run."""
    path = tmp_path_factory.mktemp("cli") / "model.json"
    code = main(["train", "--epochs", "2", "--limit", "200", "--hidden", "12", "--seed", "1",
                 "--no-progress", "--quiet", "--output", str(path)])
    assert code == 0
    return path


# --------------------------------------------------------------------------- help
def test_help_lists_the_subcommands(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0
    assert "train" in out and "predict" in out and "--version" in out


def test_train_help_explains_every_option_with_defaults(capsys):
    code, out, _ = run(capsys, "train", "--help")
    assert code == 0
    for option in ("--dataset", "--hidden", "--activation", "--output-activation", "--cost",
                   "--epochs", "--batch-size", "--lr", "--momentum", "--seed", "--limit",
                   "--output", "--no-progress", "--quiet", "--engine"):
        assert option in out
    for default in ("(default: digits)", "(default: 16,16)", "(default: sigmoid)",
                    "(default: quadratic)", "(default: 15)", "(default: 10)", "(default: 3.0)",
                    "(default: 0.0)", "(default: 0)", "(default: auto)"):
        assert default in out
    assert "mnist:FOLDER" in out and "cross-entropy" in out


def test_predict_help(capsys):
    code, out, _ = run(capsys, "predict", "--help")
    assert code == 0
    assert "MODEL.json" in out and "--index" in out and "--dataset" in out


def test_every_option_has_a_help_string():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, p in sub.choices.items():
        for action in p._actions:
            assert action.help, f"{name} {action.option_strings or action.dest} has no help"


def test_version(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.strip() == f"tinygrad-lite {tinygrad_lite.__version__}"


# --------------------------------------------------------------------------- usage errors
@pytest.mark.parametrize("argv, fragment", [
    ([], "required: COMMAND"),
    (["fly"], "invalid choice: 'fly'"),
    (["train", "--epochs", "x"], "--epochs: expected a positive integer, got 'x'"),
    (["train", "--epochs", "0"], "--epochs: expected a positive integer"),
    (["train", "--lr", "-1"], "--lr: expected a positive number"),
    (["train", "--lr", "nan"], "--lr: expected a positive number"),
    (["train", "--momentum", "1.5"], r"--momentum: expected a number in [0, 1)"),
    (["train", "--hidden", "16,a"], "--hidden: expected comma-separated layer sizes"),
    (["train", "--hidden", "16,0"], "--hidden: layer sizes must be positive"),
    (["train", "--cost", "hinge"], "--cost: invalid choice: 'hinge'"),
    (["train", "--activation", "gelu"], "--activation: invalid choice: 'gelu'"),
    (["train", "--dataset", "cifar"], "unknown dataset 'cifar'"),
    (["train", "--bogus"], "unrecognized arguments: --bogus"),
    (["predict"], "required: MODEL.json"),
    (["predict", "m.json", "--index", "-1"], "--index: expected a non-negative integer"),
])
def test_usage_errors_exit_2_with_one_line(capsys, argv, fragment):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert_one_error_line(err)
    assert fragment in err
    assert out == ""


# --------------------------------------------------------------------------- runtime errors
def test_missing_model_file_exits_1_with_one_line(capsys, tmp_path):
    code, out, err = run(capsys, "predict", str(tmp_path / "nope.json"))
    assert code == 1
    assert_one_error_line(err)
    assert "nope.json" in err and "not found" in err


@pytest.mark.parametrize("content, fragment", [
    ("{broken", "invalid JSON"),
    (json.dumps({"format": "other"}), "not a tinygrad_lite model"),
])
def test_corrupt_model_file_exits_1_with_one_line(capsys, tmp_path, content, fragment):
    path = tmp_path / "bad.json"
    path.write_text(content)
    code, _, err = run(capsys, "predict", str(path))
    assert code == 1
    assert_one_error_line(err)
    assert fragment in err


def test_missing_mnist_folder_exits_1(capsys, tmp_path):
    code, _, err = run(capsys, "train", "--dataset", f"mnist:{tmp_path}", "--quiet")
    assert code == 1
    assert_one_error_line(err)
    assert "MNIST not found" in err


def test_model_and_dataset_of_different_sizes_exit_1(capsys, tmp_path):
    path = tmp_path / "m.json"
    save_model(MLP(64, [10], seed=0), path)
    code, _, err = run(capsys, "predict", str(path), "--dataset", "digits28")
    assert code == 1
    assert_one_error_line(err)
    assert "expects 64 inputs" in err and "784" in err
    save_model(MLP(5, [10], seed=0), path)
    code, _, err = run(capsys, "predict", str(path))
    assert code == 1 and "--dataset" in err


def test_unwritable_output_exits_1_before_training(capsys, tmp_path):
    code, out, err = run(capsys, "train", "--epochs", "1", "--limit", "20",
                         "--output", str(tmp_path / "missing" / "m.json"))
    assert code == 1
    assert_one_error_line(err)
    assert "does not exist" in err and "file not found" not in err
    assert "epoch" not in out  # checked before any training, so no work is lost


def test_arithmetic_and_runtime_errors_are_one_line(capsys, monkeypatch, tmp_path):
    from tinygrad_lite.viz import GraphvizUnavailable

    monkeypatch.chdir(tmp_path)  # nothing is written, and never into the working folder

    for error in (FloatingPointError("overflow in exp"), GraphvizUnavailable("no Graphviz")):
        def fail(*args, error=error, **kwargs):
            raise error

        monkeypatch.setattr("tinygrad_lite.cli.episode4_svg", fail)
        code, _, err = run(capsys, "graph", "episode4", "-o", "x.svg")
        assert code == 1
        assert_one_error_line(err)
        assert str(error) in err


# --------------------------------------------------------------------------- train / predict
def test_a_tiny_training_run_prints_epochs_and_writes_a_loadable_model(capsys, tmp_path):
    path = tmp_path / "m.json"
    code, out, err = run(capsys, "train", "--epochs", "2", "--limit", "60", "--hidden", "8",
                         "--no-progress", "--output", str(path), "--seed", "3")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("MLP(64 → 8 → 10, sigmoid, 610 parameters) on digits:train[:60]")
    assert lines[1].startswith("epoch   0  training cost") and lines[1].endswith("(untrained)")
    assert lines[2].startswith("epoch   1  training cost")
    assert lines[3].startswith("epoch   2  training cost")
    assert lines[4].startswith("final test accuracy: ")
    assert lines[5] == f"saved the model to {path}"
    assert err == ""
    model = load_model(path)
    assert model.nin == 64 and model.nouts == [8, 10] and model.activations == ["sigmoid"] * 2


@pytest.mark.parametrize("engine", ["scalar", "compiled"])
def test_engine_option_chooses_the_engine(capsys, engine):
    code, out, _ = run(capsys, "train", "--epochs", "1", "--limit", "30", "--quiet",
                       "--engine", engine)
    assert code == 0 and out.rstrip().endswith(f"{engine} engine)")


def test_the_default_digits_network_is_compiled(capsys):
    code, out, _ = run(capsys, "train", "--epochs", "1", "--limit", "30", "--quiet")
    assert code == 0 and out.rstrip().endswith("compiled engine)")


def test_quiet_prints_only_the_result(capsys):
    code, out, _ = run(capsys, "train", "--epochs", "1", "--limit", "30", "--quiet")
    assert code == 0
    assert len(out.splitlines()) == 1 and out.startswith("final test accuracy: ")


def test_cross_entropy_defaults_to_a_linear_output_layer(capsys, tmp_path):
    path = tmp_path / "ce.json"
    code, out, _ = run(capsys, "train", "--epochs", "1", "--limit", "30", "--cost",
                       "cross-entropy", "--activation", "relu", "--lr", "0.5", "--hidden", "none",
                       "--no-progress", "--output", str(path))
    assert code == 0
    assert "MLP(64 → 10, linear, 650 parameters)" in out
    assert load_model(path).activations == ["linear"]
    code, out, _ = run(capsys, "train", "--epochs", "1", "--limit", "30", "--cost",
                       "cross-entropy", "--output-activation", "sigmoid", "--no-progress")
    assert "sigmoid" in out.splitlines()[0]


def test_predict_reports_accuracy_and_predicted_digits(capsys, trained_model):
    from tinygrad_lite.data import load_digits
    from tinygrad_lite.train import accuracy, predict

    test = load_digits().test
    code, out, err = run(capsys, "predict", str(trained_model))
    assert code == 0, err
    acc = accuracy(load_model(trained_model), test)
    assert out == f"test accuracy on digits:test: {100 * acc:.1f}% ({len(test):,} images)\n"
    expected = predict(load_model(trained_model), test.images[[0, 5]]).tolist()
    code, out, err = run(capsys, "predict", str(trained_model), "--index", "0", "5")
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 2
    for line, i, guess in zip(lines, (0, 5), expected):
        assert line.startswith(f"digits:test[{i}]: predicted {guess}, label {test.labels[i]}")


def test_predict_index_out_of_range_exits_1(capsys, trained_model):
    from tinygrad_lite.data import load_digits

    n = len(load_digits().test)
    code, _, err = run(capsys, "predict", str(trained_model), "--index", "0", str(n))
    assert code == 1
    assert_one_error_line(err)
    assert f"index {n} out of range" in err and f"(0..{n - 1})" in err


def test_ctrl_c_during_training_saves_the_model_and_exits_130(capsys, tmp_path, monkeypatch):
    # The package re-exports the function `train`, which hides the module of the same name.
    train_module = sys.modules["tinygrad_lite.train"]
    real_train = train_module.train

    def interrupted_train(*args, **kwargs):
        def stop(stats):
            raise KeyboardInterrupt

        return real_train(*args, **kwargs, on_epoch=stop)

    monkeypatch.setattr("tinygrad_lite.cli.train", interrupted_train)
    path = tmp_path / "m.json"
    code, out, err = run(capsys, "train", "--epochs", "5", "--limit", "30", "--no-progress",
                         "--output", str(path))
    assert code == 130
    assert "interrupted after 1 complete epoch(s)" in out
    assert "final test accuracy" in out and "interrupted, 1 epoch," in out
    assert load_model(path).nouts == [16, 16, 10]
    assert "Traceback" not in err


def test_ctrl_c_mid_epoch_reports_the_accuracy_of_the_saved_model(capsys, tmp_path,
                                                                  monkeypatch):
    from tinygrad_lite.data import load_dataset
    from tinygrad_lite.train import accuracy, subset

    train_module = sys.modules["tinygrad_lite.train"]
    real_train = train_module.train
    batches = []

    def interrupted_train(*args, **kwargs):
        def stop(i, cost):  # Ctrl-C in the middle of the second epoch
            batches.append(i)
            if len(batches) == 9:
                raise KeyboardInterrupt

        return real_train(*args, **kwargs, on_batch=stop)

    monkeypatch.setattr("tinygrad_lite.cli.train", interrupted_train)
    path = tmp_path / "m.json"
    code, out, _ = run(capsys, "train", "--epochs", "5", "--limit", "60", "--no-progress",
                       "--output", str(path))
    assert code == 130
    test = subset(load_dataset("digits"), 60, 60).test
    saved = 100 * accuracy(load_model(path), test)
    assert f"final test accuracy: {saved:.1f}% (interrupted, 1 epoch," in out


def test_predict_refuses_a_model_that_is_not_a_digit_classifier(capsys, tmp_path):
    path = tmp_path / "five.json"
    save_model(MLP(64, [16, 5], seed=0), path)
    code, _, err = run(capsys, "predict", str(path))
    assert code == 1
    assert_one_error_line(err)
    assert "has 5 outputs; a digit classifier needs 10" in err


def test_ctrl_c_outside_training_is_one_line(capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("tinygrad_lite.cli.load_dataset", interrupted)
    code, _, err = run(capsys, "train", "--quiet")
    assert code == 130
    assert err.strip() == "tinygrad-lite: interrupted"


def test_python_dash_m_works():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "tinygrad_lite", "predict", "/nonexistent.json"],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 1
    assert result.stderr.startswith("tinygrad-lite: error: ")
    assert len(result.stderr.strip().splitlines()) == 1


# --------------------------------------------------------------------------- the output file
def test_a_device_as_output_is_refused_before_training(capsys):
    code, out, err = run(capsys, "train", "--epochs", "1", "--limit", "20", "--no-progress",
                         "--output", "/dev/null")
    assert code == 1
    assert_one_error_line(err)
    assert "/dev/null" in err and "it is a device" in err
    assert "epoch" not in out  # refused before any training
    assert os.path.exists("/dev/null") and not os.path.isfile("/dev/null")


def test_a_folder_that_takes_no_new_files_is_refused_before_training(capsys, tmp_path):
    if os.geteuid() == 0:  # root ignores permission bits; /sys refuses new files even to root
        folder = "/sys"
    else:
        folder = str(tmp_path / "ro")
        os.mkdir(folder, 0o555)
    code, out, err = run(capsys, "train", "--epochs", "1", "--limit", "20", "--no-progress",
                         "--output", os.path.join(folder, "m.json"))
    assert code == 1
    assert_one_error_line(err)
    assert "does not take new files" in err and "epoch" not in out


def test_a_failed_final_save_keeps_an_emergency_copy(capsys, tmp_path, monkeypatch):
    train_module = sys.modules["tinygrad_lite.train"]
    real_train = train_module.train
    path = tmp_path / "m.json"

    def train_then_block_the_output(*args, **kwargs):
        history = real_train(*args, **kwargs)
        os.mkfifo(path)  # the output became something that is never replaced
        return history

    monkeypatch.setattr("tinygrad_lite.cli.train", train_then_block_the_output)
    code, out, err = run(capsys, "train", "--epochs", "1", "--limit", "30", "--hidden", "8",
                         "--no-progress", "--output", str(path))
    assert code == 1
    assert_one_error_line(err)
    assert f"cannot save the model to {path}" in err and "saved in " in err
    rescue = err.strip().rsplit("saved in ", 1)[1].split(" instead")[0]
    try:
        assert load_model(rescue).nouts == [8, 10]
    finally:
        os.unlink(rescue)


def test_ctrl_c_before_the_first_step_never_overwrites_a_good_model(capsys, tmp_path,
                                                                  monkeypatch):
    train_module = sys.modules["tinygrad_lite.train"]
    real_train = train_module.train

    def stop_before_the_first_step(*args, **kwargs):
        def step(*step_args):
            raise KeyboardInterrupt

        return real_train(*args, **kwargs, step_fn=step)

    path = tmp_path / "m.json"
    good = MLP(64, [16, 16, 10], seed=5)
    save_model(good, path)
    before = path.read_bytes()
    monkeypatch.setattr("tinygrad_lite.cli.train", stop_before_the_first_step)
    code, out, _ = run(capsys, "train", "--epochs", "3", "--limit", "30", "--no-progress",
                       "--output", str(path))
    assert code == 130
    assert path.read_bytes() == before
    assert "not saving: the model was not trained at all" in out


def test_a_network_too_large_to_build_is_one_line(capsys):
    code, _, err = run(capsys, "train", "--hidden", "100000000", "--no-progress")
    assert code == 1
    assert_one_error_line(err)
    assert "64 → 100,000,000 → 10" in err and "parameters" in err
# --------------------------------------------------------------------------- datasets
def test_dataset_help_names_every_dataset(capsys):
    for command in (["train"], ["predict"], ["graph", "network"]):
        code, out, _ = run(capsys, *command, "--help")
        assert code == 0
        flat = " ".join(out.split())
        for name in (r"\bmnist\b(?!:)", r"\bdigits\b", r"\bdigits28\b", r"\bmnist:FOLDER\b"):
            assert re.search(name, flat), (command, name)


@pytest.mark.parametrize("name", ["mnist:", "MNIST", "mnist5k"])
def test_malformed_dataset_names_are_usage_errors(capsys, name):
    code, out, err = run(capsys, "train", "--dataset", name)
    assert code == 2 and out == ""
    assert_one_error_line(err)
    assert f"unknown dataset {name!r}; use mnist, digits, digits28 or mnist:FOLDER" in err


def test_train_on_the_shipped_mnist_digits(capsys, tmp_path):
    path = tmp_path / "m.json"
    code, out, err = run(capsys, "train", "--dataset", "mnist", "--limit", "40", "--epochs", "1",
                         "--no-progress", "--output", str(path))
    assert code == 0, err
    first = out.splitlines()[0]
    assert first.startswith("MLP(784 → 16 → 16 → 10, sigmoid, 13,002 parameters)")
    assert "on mnist:train[:40] (40 training images) / mnist:test[:40] (40 test images)" in first
    final = next(line for line in out.splitlines() if line.startswith("final test accuracy"))
    assert final.endswith("compiled engine)")
    assert load_model(path).nin == 784


@pytest.mark.slow
def test_a_784_input_model_is_tested_on_the_shipped_mnist_by_default(capsys, tmp_path):
    from tinygrad_lite.data import load_mnist
    from tinygrad_lite.train import accuracy

    path = tmp_path / "m784.json"
    model = MLP(784, [10], seed=0)
    save_model(model, path)
    code, out, _ = run(capsys, "predict", str(path))
    test = load_mnist().test
    assert code == 0
    assert out == (f"test accuracy on mnist:test: {100 * accuracy(model, test):.1f}% "
                   "(1,000 images)\n")
    code, out, _ = run(capsys, "predict", str(path), "--index", "3")
    assert code == 0 and out.startswith(f"mnist:test[3]: predicted ")
    assert f"label {test.labels[3]}" in out
    code, out, _ = run(capsys, "predict", str(path), "--dataset", "digits28")
    assert code == 0 and "on digits28:test" in out  # the resized 8×8 digits, one option away


def test_missing_mnist_files_name_each_file_once_on_the_command_line(capsys, tmp_path):
    code, _, err = run(capsys, "train", "--dataset", f"mnist:{tmp_path}", "--quiet")
    assert code == 1
    assert_one_error_line(err)
    for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        assert err.count(stem) == 1
    assert "--dataset mnist on the command line" in err


# --------------------------------------------------------------------------- messages
@pytest.mark.parametrize("argv,suggestion", [
    (["trian"], "did you mean 'train'?"),
    (["graph", "netwrk", "m.json"], "did you mean 'network'?"),
    (["train", "--actvation", "relu"], "did you mean '--activation'?"),
    (["train", "--epohcs=3"], "did you mean '--epochs'?"),
    (["train", "--activation", "rleu"], "did you mean 'relu'?"),
])
def test_typos_get_did_you_mean(capsys, argv, suggestion):
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert_one_error_line(err)
    assert suggestion in err


def test_an_option_nothing_like_a_real_one_gets_no_guess(capsys):
    code, _, err = run(capsys, "train", "--bogus")
    assert code == 2 and "unrecognized arguments: --bogus" in err and "did you mean" not in err


def test_backend_dot_without_dot_suggests_the_installed_wasm_backend(capsys, monkeypatch,
                                                                     tmp_path):
    from tinygrad_lite.viz import available_backends

    if "wasm" not in available_backends():
        pytest.skip("needs the [wasm] extra, which the dev install has")
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot
    code, _, err = run(capsys, "graph", "episode4", "-o", str(tmp_path / "c.svg"),
                       "--backend", "dot")
    assert code == 1
    assert_one_error_line(err)
    assert "use --backend wasm or --backend auto" in err and "pip install" not in err
    assert not (tmp_path / "c.svg").exists()


@pytest.mark.parametrize("argv", [
    ["graph", "episode4", "-o", "x.svg", "--widths", "20,20"],
    ["graph", "episode4", "-o", "x.svg", "--widths", "2,2,2"],
    ["graph", "episode4", "-o", "x.svg", "--depth", "9"],
    ["graph", "episode4", "-o", "x.png", "--backend", "wasm"],
    ["train", "--dataset", "mnist:MISSING", "--quiet"],
])
def test_errors_speak_the_command_lines_language(capsys, monkeypatch, tmp_path, argv):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, *argv)
    assert code in (1, 2)
    assert_one_error_line(err)
    for python in ("backend='", "depth=", "draw_network", "draw_collapsed", "load_digits(",
                   "widths["):
        assert python not in err
    assert "  " not in err


def test_missing_mnist_names_each_file_once(capsys, tmp_path):
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"")
    code, _, err = run(capsys, "train", "--dataset", f"mnist:{tmp_path}", "--quiet")
    assert code == 1
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte"):
        assert err.count(name) == 1
    assert "found only train-images-idx3-ubyte" in err


def test_training_counts_use_thousands_separators(capsys):
    code, out, _ = run(capsys, "train", "--epochs", "1", "--no-progress", "--engine", "compiled")
    assert code == 0
    assert "(1,438 training images) / digits:test (359 test images)" in out.splitlines()[0]


def test_dtype_float32_trains_on_the_compiled_engine(capsys):
    code, out, err = run(capsys, "train", "--dtype", "float32", "--epochs", "1", "--limit",
                         "50", "--no-progress")
    assert code == 0, err
    assert out.rstrip().endswith("compiled engine)")
    code, _, err = run(capsys, "train", "--dtype", "float32", "--engine", "scalar",
                       "--epochs", "1", "--limit", "50", "--no-progress")
    assert code == 1
    assert_one_error_line(err)
    assert "float32 runs on the compiled engine only" in err and "=" not in err.split(":", 2)[2]
    code, out, _ = run(capsys, "train", "--help")
    assert "--dtype" in out and "(default: float64)" in out
