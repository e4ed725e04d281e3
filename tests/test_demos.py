"""The demos run: each one, with ``--quick``, writes exactly the pictures it promises.

Every demo runs once per session in a subprocess (``--quick --out TMP``); the tests then check
its files (PNG magic bytes, SVG that parses as XML and holds the expected text, a loadable
model), its ``--help``, the digit demo without the Graphviz ``dot`` program, and that every
picture docs/*.md shows is in the repository and is one a demo writes.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # the everyday run (pytest -m "not slow") leaves these out

pytest.importorskip("matplotlib")  # the demos draw with the [plots] extra

from tinygrad_lite.serialize import load_model  # noqa: E402
from tinygrad_lite.train import DEFAULTS  # noqa: E402
from tinygrad_lite.viz import available_backends  # noqa: E402
from tinygrad_lite.explore.browser import find_chromium  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEMOS = ROOT / "demos"
DOCS = ROOT / "docs"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
HAS_DOT = "dot" in available_backends()
HAS_WASM = "wasm" in available_backends()
HAS_CHROMIUM = find_chromium() is not None  # for the explore pages' screenshots

# What each demo writes: the docs/img folder its pictures live in, its matplotlib figures
# (always .png and .svg), its Graphviz pictures (.svg, plus .png when `dot` is installed), other
# files, and a text each SVG must contain.
SPECS: dict[str, dict] = {
    "episode1_neurons": {
        "folder": "episode1",
        "plots": {"episode1_digits": "Ten training digits",
                  "episode1_activations": "Activation functions"},
        "graphs": {"episode1_neuron_graph": "legend", "episode1_network": "MLP 784",
                   "episode1_network_8x8": "MLP 64"},
        "other": [],
        "says": ["13,002 parameters", "largest difference"],
    },
    "episode2_cost": {
        "folder": "episode2",
        "plots": {"episode2_downhill": "fastest way downhill",
                  "episode2_cost_curve": "gradient-descent step"},
        "graphs": {},
        "other": [],
        "says": ["C₀ = Σⱼ (aⱼ − yⱼ)²", "final test accuracy"],
    },
    "episode3_backprop": {
        "folder": "episode3",
        "plots": {"episode3_sgd_vs_gd": "stochastic gradient descent"},
        "graphs": {"episode3_backprop": "output 9"},
        "other": [],
        "says": ["1,482 partial derivatives, largest difference", "<- the right answer"],
    },
    "episode4_chain_rule": {
        "folder": "episode4",
        "plots": {"episode4_slope": "the slope of the cost"},
        "graphs": {"episode4_chain": "backward() gave", "episode4_chain_depth2": "teal",
                   "episode4_chain_wide": "purple"},
        "other": [],
        "says": ["finite difference", "backward() of C = (1/n) Σ C₀ₖ gives"],
    },
    "own_experiments": {
        "folder": "own",
        "plots": {"xor_learned": "XOR learned", "regression_fit": "1-D regression"},
        "graphs": {"xor_network": "MLP 2"},
        "other": [],
        "says": ["predictions [0, 1, 1, 0] for targets [0, 1, 1, 0]", "compiled engine"],
    },
    "derivatives": {
        "folder": "derivatives",
        "plots": {"derivatives_newton_vs_gd": "Newton's method",
                  "derivatives_hessian": "Hessian",
                  "derivatives_modes": "reverse mode wins"},
        "graphs": {"derivatives_grad_graph": "∂C₀/∂z"},
        "other": [],
        "says": ["Newton's method (x ← x − f'/f''):            6 steps", "2/λ = 9.83",
                 "13,002 passes"],
    },
    "train_digits": {
        "folder": "train",
        "plots": {"training_curves": "final test accuracy",
                  "first_layer_weights": "neuron 15",
                  "test_predictions": "Predicted digits of 50 test images"},
        "graphs": {"episode4_chain": "backward() gave", "network": "MLP 784"},
        "other": ["model.json", "explore_network.html", "explore_training.html"],
        "graph_pages": ["explore_episode4.html"],
        "says": ["epoch   1", "epoch   2", "final test accuracy:", "(+ 1,200 shifted copies)",
                 "(mnist)"],
    },
    "explore_pages": {
        "folder": "explore",
        "plots": {},
        "graphs": {},
        "other": ["explore_network.html", "explore_training.html"],
        "graph_pages": ["explore_episode4.html", "explore_graph.html"],
        "screenshots": ["explore_episode4.png", "explore_episode4_paths.png",
                        "explore_graph.png", "explore_network.png",
                        "explore_network_nudge.png", "explore_training.png"],
        "says": ["snapshots", "explore_training.html"],
    },
}


def run_demo(name: str, *args: str, cwd: Path, env_path: str | None = None,
             ) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["MPLBACKEND"] = "Agg"
    if env_path is not None:
        env["PATH"] = env_path
    return subprocess.run([sys.executable, str(DEMOS / f"{name}.py"), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def expected_files(spec: dict, with_dot: bool, with_graphs: bool = True,
                   with_browser: bool = HAS_CHROMIUM) -> set[str]:
    files = {f"{stem}.{ext}" for stem in spec["plots"] for ext in ("png", "svg")}
    if with_graphs:
        files |= {f"{stem}.svg" for stem in spec["graphs"]} | set(spec.get("graph_pages", []))
        if with_dot:
            files |= {f"{stem}.png" for stem in spec["graphs"]}
        if with_browser:  # screenshots of the pages (some laid out by Graphviz)
            files |= set(spec.get("screenshots", []))
    return files | set(spec["other"])


def svg_text(path: Path) -> str:
    root = ET.parse(path).getroot()  # raises if it is not well-formed XML
    assert root.tag == "{http://www.w3.org/2000/svg}svg", f"{path.name} is not an SVG"
    return " ".join("".join(el.itertext()) for el in root.iter()
                    if el.tag.endswith("}text") or el.tag.endswith("}title"))


@pytest.fixture(scope="session")
def quick_runs(tmp_path_factory) -> dict[str, tuple[Path, subprocess.CompletedProcess]]:
    """Every demo run once with --quick, each into its own folder."""
    runs = {}
    for name in SPECS:
        work = tmp_path_factory.mktemp(name)
        out = work / "pictures"
        runs[name] = (out, run_demo(name, "--quick", "--out", str(out), cwd=work))
    return runs


# --------------------------------------------------------------------------- each demo
@pytest.mark.parametrize("name", SPECS)
def test_demo_writes_the_files_it_promises(name, quick_runs):
    spec = SPECS[name]
    out, done = quick_runs[name]
    assert done.returncode == 0, done.stderr
    assert str(out) in done.stdout  # it says where the pictures went
    assert set(os.listdir(out)) == expected_files(spec, HAS_DOT)  # and no temporary files
    for stem, text in {**spec["plots"], **spec["graphs"]}.items():
        assert text in svg_text(out / f"{stem}.svg"), f"{stem}.svg lacks {text!r}"
    for png in out.glob("*.png"):
        assert png.read_bytes()[:8] == PNG_MAGIC, f"{png.name} is not a PNG"
        assert png.stat().st_size > 2000, f"{png.name} is suspiciously small"
    for claim in spec["says"]:
        assert claim in done.stdout, f"{name} did not print {claim!r}"
    for written in spec["plots"]:  # every file it lists at the end
        assert str(out / f"{written}.png") in done.stdout


def test_train_digits_saves_a_model_that_loads_and_reports_its_accuracy(quick_runs):
    out, done = quick_runs["train_digits"]
    model = load_model(out / "model.json")
    assert model.nouts == [16, 16, 10] and model.nin == 784  # the videos' network, on MNIST
    match = re.search(r"final test accuracy: (\d+\.\d)% on 100 test digits", done.stdout)
    assert match and 0.0 <= float(match.group(1)) <= 100.0


def test_train_digits_keeps_the_8x8_digits_one_option_away(tmp_path):
    out = tmp_path / "digits"
    done = run_demo("train_digits", "--quick", "--dataset", "digits", "--out", str(out),
                    cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert load_model(out / "model.json").nin == 64
    assert "(digits)" in done.stdout and "shifted" not in done.stdout
    assert f"learning rate {DEFAULTS['lr']:g}" in done.stdout


@pytest.mark.parametrize("option, value", [("--batch-size", "0"), ("--lr", "0"),
                                           ("--lr", "nan")])
def test_train_digits_bad_recipe_options_are_usage_errors(tmp_path, option, value):
    done = run_demo("train_digits", option, value, cwd=tmp_path)
    assert done.returncode == 2 and f"{option} must be a positive" in done.stderr
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("name", SPECS)
def test_demo_help(name, tmp_path):
    done = run_demo(name, "--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout and "--out DIR" in done.stdout and "--quick" in done.stdout
    if name == "train_digits":
        assert "--epochs" in done.stdout and "--seed" in done.stdout
    assert os.listdir(tmp_path) == []  # --help writes nothing


def test_bad_option_is_a_usage_error(tmp_path):
    done = run_demo("train_digits", "--epochs", "0", cwd=tmp_path)
    assert done.returncode == 2 and "--epochs must be a positive integer" in done.stderr
    assert os.listdir(tmp_path) == []


def test_train_digits_works_without_the_dot_program(tmp_path):
    no_dot = tmp_path / "bin"  # a PATH with no Graphviz programs on it
    no_dot.mkdir()
    out = tmp_path / "pictures"
    done = run_demo("train_digits", "--quick", "--out", str(out), cwd=tmp_path,
                    env_path=str(no_dot))
    assert done.returncode == 0, done.stderr
    spec = SPECS["train_digits"]
    assert set(os.listdir(out)) == expected_files(spec, with_dot=False, with_graphs=HAS_WASM)
    assert "no PNG of the graphs" in done.stdout
    if HAS_WASM:
        for stem, text in spec["graphs"].items():
            assert text in svg_text(out / f"{stem}.svg")
    else:
        assert "skipped episode4_chain" in done.stdout


@pytest.mark.parametrize("name", ["train_digits", "episode4_chain_rule"])
def test_without_matplotlib_a_demo_says_what_to_install_before_doing_anything(name, tmp_path):
    script = DEMOS / f"{name}.py"
    out = tmp_path / "pictures"
    code = ("import runpy, sys; sys.modules['matplotlib'] = None; "
            f"sys.argv = [{str(script)!r}, '--out', {str(out)!r}]; "
            f"runpy.run_path({str(script)!r}, run_name='__main__')")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT),
                                                                   os.environ.get("PYTHONPATH")])))
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1
    assert done.stderr.strip() == (f'{name}.py: tinygrad_lite.plots needs matplotlib: '
                                   'pip install "tinygrad-lite[plots]"')
    assert not out.exists() and "epoch" not in done.stdout


# --------------------------------------------------------------------------- the docs' pictures
IMAGE_REF = re.compile(r"!\[[^\]]*\]\(([^)\s]+)[^)]*\)|<img[^>]*\ssrc=\"([^\"]+)\"")


def doc_images() -> list[tuple[Path, str]]:
    """(page, referenced path) for every image in docs/*.md."""
    refs = []
    for page in sorted(DOCS.glob("*.md")):
        for match in IMAGE_REF.finditer(page.read_text(encoding="utf-8")):
            refs.append((page, match.group(1) or match.group(2)))
    return refs


def test_the_docs_show_pictures():
    pages = {page.name for page, _ in doc_images()}
    for chapter in ("01-neurons-and-layers.md", "02-cost-and-gradient-descent.md",
                    "03-backpropagation-and-sgd.md", "04-chain-rule.md", "graphs.md"):
        assert chapter in pages, f"{chapter} shows no picture"


def test_every_picture_in_the_docs_exists_and_a_demo_makes_it(quick_runs):
    by_folder = {spec["folder"]: name for name, spec in SPECS.items()}
    for page, ref in doc_images():
        assert not re.match(r"[a-z]+://", ref), f"{page.name}: {ref} is not a local file"
        path = (page.parent / ref).resolve()
        assert path.is_file(), f"{page.name} shows {ref}, which is not in the repository"
        rel = path.relative_to(DOCS / "img")
        assert len(rel.parts) == 2 and rel.parts[0] in by_folder, (
            f"{page.name}: {ref} must live in docs/img/<one of {sorted(by_folder)}>/")
        demo = by_folder[rel.parts[0]]
        out, done = quick_runs[demo]
        assert done.returncode == 0, done.stderr
        assert rel.name in os.listdir(out), (
            f"{page.name} shows {ref}, but demos/{demo}.py does not write {rel.name}")
        command = f"demos/{demo}.py --out docs/img/{rel.parts[0]}"
        assert command in page.read_text(encoding="utf-8"), (
            f"{page.name} shows {ref} but does not say it is made by `python {command}`")
        data = path.read_bytes()
        if path.suffix == ".png":
            assert data[:8] == PNG_MAGIC, f"{ref} is not a PNG"
        else:
            assert path.suffix == ".svg", f"{ref}: pictures are .png or .svg"
            svg_text(path)


def test_ctrl_c_ends_a_demo_with_one_line(tmp_path):
    """Ctrl-C (SIGINT) once the demo is at work: one line on stderr, not a traceback."""
    import signal

    env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg", PYTHONUNBUFFERED="1")
    demo = subprocess.Popen([sys.executable, str(DEMOS / "episode2_cost.py"), "--out",
                             str(tmp_path)], cwd=tmp_path, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert demo.stdout.readline().startswith("writing pictures to")  # past the imports
    demo.send_signal(signal.SIGINT)
    _, err = demo.communicate(timeout=120)
    assert err == "episode2_cost.py: interrupted\n"
    assert demo.returncode in (-signal.SIGINT, 130)
