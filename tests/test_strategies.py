"""Tests for tinygrad_lite.testing: the strategies, the ready property, and gradcheck over them.

Property tests here are the heart of "trust the gradients": every engine op, random composed
graphs (with shared sub-expressions and nodes used twice) and random MLPs with each activation
and cost pass gradcheck, and a deliberately wrong derivative fails with a readable, shrunk
example that names the input.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

from tinygrad_lite import Value
from tinygrad_lite.engine import topological_order
from tinygrad_lite.optable import BUILTIN_OP_NAMES
from tinygrad_lite.gradcheck import (
    GradcheckError,
    gradcheck,
    gradcheck_directional,
    gradcheck_model,
)
from tinygrad_lite.ops import custom_op
from tinygrad_lite.testing import (
    ACTIVATIONS,
    BUILTIN_OPS,
    COSTS,
    GeneratedExpression,
    GeneratedNetwork,
    OpSpec,
    Step,
    expressions,
    gradcheck_property,
    gradgradcheck,
    gradgradcheck_property,
    mlps,
)

ROOT = Path(__file__).resolve().parent.parent

softplus = custom_op(
    "softplus",
    lambda x: math.log1p(math.exp(-abs(x))) + max(x, 0.0),
    lambda x, out: -math.expm1(-out),
)
# Claims σ(x) + 0.1 instead of σ(x): wrong everywhere.
softplus_wrong = custom_op(
    "softplus_wrong", softplus.forward, lambda x, out: 0.1 - math.expm1(-out)
)

FAST_FAILURE = settings(max_examples=100, database=None, derandomize=True)
# For hypothesis.find: its own budget, independent of the active profile.
SEARCH = settings(max_examples=2000, database=None, derandomize=True)




def engine_value_matches(expr: GeneratedExpression) -> None:
    built = expr.build(list(expr.inputs))
    assert built.data == pytest.approx(expr.value, rel=1e-9, abs=1e-9), expr
    assert expr.evaluate(expr.inputs) == built.data


# ----------------------------------------------------------------------------- every op
@pytest.mark.parametrize("op", BUILTIN_OPS)
@given(data=st.data())
def test_every_engine_op_passes_gradcheck(op, data):
    expr = data.draw(expressions(ops=[op], require=op, max_steps=0), label="expr")
    assert op in expr.op_names
    engine_value_matches(expr)
    assert gradcheck(expr.build, expr.inputs)


@settings(max_examples=1, database=None, derandomize=True)
@given(data=st.data())
def test_the_builtin_ops_of_the_strategies_reach_every_engine_op(data):
    # BUILTIN_OPS has names of its own ("add", "pow" and "vpow"...): this pins that together
    # they build every op of the engine.
    made = set()
    for op in BUILTIN_OPS:
        expr = data.draw(expressions(ops=[op], require=op, max_steps=0), label=op)
        made |= {node.op for node in topological_order(expr.build(list(expr.inputs))) if node.op}
    assert made == BUILTIN_OP_NAMES


# ----------------------------------------------------------------------------- composed graphs
@given(expressions(min_steps=2, max_steps=8, max_inputs=4))
def test_random_composed_graphs_pass_gradcheck_and_the_directional_check(expr):
    engine_value_matches(expr)
    assert gradcheck(expr.build, expr.inputs)
    assert gradcheck_directional(expr.build, expr.inputs, seed=0)


SHARING = {
    # Each uses the generated node t several times: in one op (s * s) and on several paths.
    "s*s+s": lambda t: (lambda s: s * s + s)(t.sigmoid()),
    "tanh(t)*sigmoid(t)-t/4": lambda t: t.tanh() * t.sigmoid() - t.tanh() / 4.0,
    "sum": lambda t: Value.sum([t.tanh(), t.tanh(), t.sigmoid(), 1.0]),
    "affine": lambda t: (lambda a, s: Value.affine([a, s, a], [s, 0.5, a], a))(
        t.tanh(), t.sigmoid()),
}


@given(expressions(max_steps=6), st.sampled_from(sorted(SHARING)))
def test_graphs_that_reuse_a_generated_node_pass_gradcheck(expr, how):
    combine = SHARING[how]
    assert gradcheck(lambda x: combine(expr.build(x)), expr.inputs)


@given(expressions(min_steps=3, max_steps=8))
def test_gradients_through_shared_nodes_equal_the_sum_over_paths(expr):
    # backward() on the graph equals forward-mode accumulation over every path (the chain rule
    # applied node by node), which is what makes shared nodes correct.
    leaves = [Value(x) for x in expr.inputs]
    out = expr.build(leaves)
    out.backward()
    tangent: dict[int, list[float]] = {id(v): [float(i == k) for i in range(len(leaves))]
                                        for k, v in enumerate(leaves)}
    for node in topological_order(out):
        if id(node) not in tangent:
            tangent[id(node)] = [
                math.fsum(local * tangent[id(p)][i] for p, local in zip(node.parents,
                                                                         node.local_grads))
                for i in range(len(leaves))
            ]
    for i, leaf in enumerate(leaves):
        assert leaf.grad == pytest.approx(tangent[id(out)][i], rel=1e-9, abs=1e-12)


def test_the_strategy_makes_shared_nodes_and_reuses_a_node_within_one_op():
    shared = find(expressions(), lambda e: e.has_shared_node, settings=SEARCH)
    assert shared.has_shared_node and str(shared).startswith("t0 = ")

    def same_node_twice(e: GeneratedExpression) -> bool:
        return any(
            s.op != "input" and len({a for a in s.args if type(a) is int}) <
            sum(1 for a in s.args if type(a) is int)
            for s in e.steps
        )

    twice = find(expressions(), same_node_twice, settings=SEARCH)
    assert str(twice) == "x0 + x0"


@pytest.mark.slow
@pytest.mark.parametrize("op", BUILTIN_OPS)
def test_the_default_strategy_reaches_every_op_and_shrinks_to_it(op):
    example = find(expressions(), lambda e: op in e.op_names, settings=SEARCH)
    assert op in example.op_names
    assert example.size <= 3, example  # shrunk to (nearly) the op on its own


@given(expressions(max_steps=8, max_inputs=4))
def test_generated_points_keep_every_op_inside_its_domain_and_away_from_kinks(expr):
    out = expr.build(list(expr.inputs))
    for node in topological_order(out):
        assert abs(node.data) <= 1000
        if node.op == "log":
            assert node.parents[0].data >= 0.1
        elif node.op == "/":
            assert abs(node.parents[1].data) >= 0.25
        elif node.op in ("relu", "abs"):
            assert abs(node.parents[0].data) >= 0.05
        elif node.op == "**" and len(node.parents) == 2:
            assert node.parents[0].data >= 0.1
        elif node.op == "**":
            base, p = node.parents[0].data, node.ctx
            assert float(p).is_integer() or base >= 0.1
            assert p >= 0 or abs(base) >= 0.25
        elif node.op == "exp":
            assert node.parents[0].data <= math.log(1000)


@given(expressions(max_steps=8, max_inputs=4))
def test_to_python_rebuilds_the_same_graph(expr):
    namespace: dict = {}
    exec(expr.to_python("f"), namespace)  # noqa: S102 - our own generated source
    a = [Value(x) for x in expr.inputs]
    b = [Value(x) for x in expr.inputs]
    out_a, out_b = namespace["f"](a), expr.build(b)
    assert out_a.data == out_b.data
    out_a.backward()
    out_b.backward()
    assert [v.grad for v in a] == [v.grad for v in b]


# ----------------------------------------------------------------------------- rendering
def program(n_inputs: int, *steps: Step) -> GeneratedExpression:
    all_steps = [Step("input", (), k) for k in range(n_inputs)] + list(steps)
    return GeneratedExpression(all_steps, [0.5 + k for k in range(n_inputs)], 0.0)


def test_repr_reads_like_math_with_minimal_parentheses():
    expr = program(3, Step("mul", (0, 1)), Step("log", (2,)), Step("add", (3, 4)),
                   Step("sigmoid", (5,)))
    assert str(expr) == "sigmoid((x0 * x1) + log(x2))"
    assert repr(expr) == "GeneratedExpression('sigmoid((x0 * x1) + log(x2))', " \
                         "inputs=[0.5, 1.5, 2.5])"


def test_shared_nodes_are_named_once():
    expr = program(2, Step("mul", (0, 1)), Step("sigmoid", (2,)), Step("mul", (3, 2)))
    assert str(expr) == "t0 = x0 * x1; sigmoid(t0) * t0"
    assert expr.has_shared_node and expr.size == 3


def test_constants_powers_sums_and_affine_render_readably():
    expr = program(
        2,
        Step("sub", (-1.5, 0)),  # 2: (-1.5) - x0
        Step("pow", (2,), -2.0),  # 3: (...) ** (-2.0)
        Step("vpow", (2.0, 1)),  # 4: 2.0 ** x1
        Step("sum", (3, 4, 0.25)),  # 5
        Step("affine", (0.5, 1, 5, 0, 3.0), 2),  # 6: w=[0.5, x1], x=[t, x0], b=3.0
        Step("neg", (6,)),
    )
    assert str(expr) == ("-affine([0.5, x1], [sum(((-1.5) - x0) ** (-2.0), 2.0 ** x1, 0.25), "
                         "x0], 3.0)")
    source = expr.to_python("g")
    assert source.startswith("from tinygrad_lite import Value\n")
    assert "Value.sum([" in source and "Value.affine([0.5, x1]" in source
    assert "    x0, x1 = x\n" in source


def test_unused_steps_are_left_out():
    expr = program(2, Step("exp", (0,)), Step("tanh", (1,)))
    assert str(expr) == "tanh(x1)" and expr.op_names == {"tanh"} and expr.size == 1
    assert expr.build([Value(0.0), Value(0.0)]).op == "tanh"


def test_custom_ops_render_by_name():
    expr = program(1, Step("custom", (0, 2.0), OpSpec.of(lambda a, b: a * b, name="scale")))
    assert str(expr) == "scale(x0, 2.0)"
    assert expr.op_names == {"scale"}


def test_build_checks_the_number_of_inputs():
    expr = program(2, Step("add", (0, 1)))
    with pytest.raises(ValueError, match="takes 2 inputs, got 3"):
        expr.build([Value(1.0)] * 3)
    assert expr.build([1.0, 2.0]).data == 3.0  # numbers become leaves


# ----------------------------------------------------------------------------- gradcheck_property
def test_gradcheck_property_passes_for_a_correct_custom_op():
    test = gradcheck_property(softplus)
    assert test.__name__ == "test_gradcheck_softplus"
    assert "softplus" in test.__doc__
    test()


def test_gradcheck_property_passes_for_builtin_ops_and_a_named_one():
    gradcheck_property()()
    gradcheck_property("log")()


def test_gradcheck_property_accepts_a_plain_function_of_values():
    gradcheck_property(lambda x: x * x.sigmoid(), arity=1)()


def test_kinks_of_a_custom_op_are_avoided_without_being_told():
    # Hypothesis loves 0.0, exactly where this op has its kink; the generator steps around it.
    my_abs = custom_op("my_abs", abs, lambda x, out: 1.0 if x > 0 else -1.0)
    gradcheck_property(my_abs)()


def test_a_custom_op_domain_is_respected():
    calls = []

    def domain(x: float) -> bool:
        return x > 1.0

    my_log = custom_op("my_log", math.log, lambda x, out: 1.0 / x, arity=1)

    @given(expressions(require=OpSpec.of(my_log, domain=domain), max_steps=3))
    def check(expr):
        for node in topological_order(expr.build(list(expr.inputs))):
            if node.op == "my_log":
                calls.append(1)
                assert node.parents[0].data > 1.0
        assert "my_log" in expr.op_names
        assert gradcheck(expr.build, expr.inputs)

    check()
    assert calls


def test_a_wrong_custom_derivative_fails_loudly_with_a_shrunk_readable_example():
    test = gradcheck_property(softplus_wrong, settings=FAST_FAILURE)
    with pytest.raises(GradcheckError) as info:
        test()
    message = str(info.value)
    assert "Jacobian mismatch for output 0 with respect to input 0" in message
    notes = "\n".join(getattr(info.value, "__notes__", []))
    assert "GeneratedExpression('softplus_wrong(x0)', inputs=[" in notes


def test_a_wrong_derivative_of_two_inputs_is_pinned_to_its_input():
    # ∂/∂b is wrong (claims a instead of 2ab); ∂/∂a is right.
    wrong = custom_op("ab2", lambda a, b: a * b * b, lambda a, b, out: (b * b, a))
    with pytest.raises(GradcheckError) as info:
        gradcheck_property(wrong, settings=FAST_FAILURE)()
    notes = "\n".join(getattr(info.value, "__notes__", []))
    found = re.search(r"GeneratedExpression\('([^']*)'", notes)
    assert found and "ab2(" in found.group(1) and len(found.group(1)) < 40, notes  # shrunk
    indices = {m.index for m in info.value.mismatches}
    assert indices and all(f"with respect to input {i}" in str(info.value) for i in indices)


def test_the_directional_property_catches_a_wrong_derivative_too():
    with pytest.raises(GradcheckError, match="Directional derivative mismatch"):
        gradcheck_property(softplus_wrong, directional=True, settings=FAST_FAILURE)()


def test_required_op_always_appears():
    @given(expressions(require=softplus, max_steps=4))
    def check(expr):
        assert "softplus" in expr.op_names
        assert gradcheck(expr.build, expr.inputs)

    check()


# ----------------------------------------------------------------------------- networks
@pytest.mark.parametrize("cost", COSTS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@given(data=st.data())
def test_random_mlps_pass_gradcheck_for_each_activation_and_cost(activation, cost, data):
    net = data.draw(mlps(activations=[activation], costs=[cost]), label="net")
    assert isinstance(net, GeneratedNetwork)
    assert activation in net.model.activations
    assert net.cost.__name__ == cost
    before = [(p.data, p.grad) for p in net.model.parameters()]
    assert gradcheck_model(*net.args)
    assert gradcheck_model(*net.args, directional=True, seed=1)
    assert [(p.data, p.grad) for p in net.model.parameters()] == before


@given(mlps(activations=["relu"]))
def test_drawn_relu_networks_stay_away_from_the_kink(net):
    for node in topological_order(net.cost(net.model(net.x), net.y)):
        if node.op == "relu":
            assert abs(node.parents[0].data) >= 1e-3


def test_generated_network_repr_says_how_to_rebuild_it():
    net = find(mlps(), lambda n: True, settings=SEARCH)
    text = repr(net)
    assert text.startswith("GeneratedNetwork(MLP(1, [1], activation='sigmoid', "
                           "output_activation='sigmoid', seed=0), cost=quadratic_cost, x=[")
    assert net.args == (net.model, net.x, net.y, net.cost)


# ----------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    "make,error,pattern",
    [
        (lambda: expressions(ops=["nope"]), ValueError, "unknown op 'nope'; the built-in ops"),
        (lambda: expressions(ops=[]), ValueError, "ops is empty"),
        (lambda: expressions(ops=[3]), TypeError, "an op must be callable"),
        (lambda: expressions(max_inputs=0), ValueError, "max_inputs must be a positive int, got 0"),
        (lambda: expressions(max_steps="3"), TypeError, "max_steps must be a positive int, got str"),
        (lambda: expressions(min_steps=4, max_steps=2), ValueError, "max_steps must be an int >= 4, got 2"),
        (lambda: expressions(inputs=[1.0]), TypeError, "inputs must be a hypothesis strategy"),
        (lambda: expressions(require=lambda *xs: xs[0]), ValueError, "pass arity=n"),
        (lambda: OpSpec.of(abs, arity=0), ValueError, "arity must be a positive int"),
        (lambda: OpSpec.of(abs, arity=1, domain=3), TypeError, "domain must be callable"),
        (lambda: mlps(activations=["softmax"]), ValueError, "unknown activation 'softmax'"),
        (lambda: mlps(costs=["hinge"]), ValueError, "unknown cost 'hinge'"),
        (lambda: mlps(max_width=0), ValueError, "max_width must be a positive int, got 0"),
    ],
)
def test_bad_strategy_arguments_fail_when_the_strategy_is_made(make, error, pattern):
    with pytest.raises(error, match=pattern):
        make()


# ----------------------------------------------------------------------------- optional deps
def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )


def test_testing_imports_without_hypothesis_and_strategies_say_how_to_install_it():
    result = run_python("""
        import sys
        sys.modules["hypothesis"] = None  # as if it were not installed
        import tinygrad_lite.testing as testing
        from tinygrad_lite.testing import expressions, gradcheck, gradcheck_property
        assert gradcheck(lambda x: x[0] * x[0], [1.5])
        for use in (expressions, gradcheck_property, testing.mlps):
            try:
                use()
            except ImportError as error:
                assert 'pip install "tinygrad-lite[test]"' in str(error), error
            else:
                raise SystemExit(f"{use.__name__} worked without hypothesis")
        try:
            import tinygrad_lite.testing.strategies
        except ImportError as error:
            assert 'pip install "tinygrad-lite[test]"' in str(error), error
        else:
            raise SystemExit("strategies imported without hypothesis")
        print("ok")
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_testing_does_not_need_pytest():
    result = run_python("""
        import sys
        sys.modules["pytest"] = None
        from tinygrad_lite.testing import expressions, gradcheck_property
        gradcheck_property("tanh")()
        print("ok")
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_unknown_attribute_of_testing_is_an_attribute_error():
    import tinygrad_lite.testing as testing

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        testing.nope  # noqa: B018


def test_property_tests_respect_the_active_profile():
    # Not a timing assertion: the ready property must not pin its own example count.
    test = gradcheck_property("exp")
    assert getattr(test, "_hypothesis_internal_use_settings", settings()).max_examples == \
        settings().max_examples


# ----------------------------------------------------------------------------- second order
@pytest.mark.parametrize("op", BUILTIN_OPS)
@given(data=st.data())
def test_every_engine_op_passes_gradgradcheck(op, data):
    expr = data.draw(expressions(ops=[op], require=op, max_steps=1), label="expr")
    assert gradgradcheck(expr.build, expr.inputs)


# Random graphs over every op and every combination the strategies make, to second order.
test_random_graphs_pass_gradgradcheck = gradgradcheck_property(max_steps=6)

cube = custom_op("cube_strategies", lambda x: x ** 3, lambda x, out: 3 * x * x)
test_a_custom_op_with_a_value_derivative_passes_gradgradcheck = gradgradcheck_property(cube)


def test_gradgradcheck_property_catches_a_wrong_second_derivative():
    # Right as floats (3x²), wrong as a graph (2x², so its derivative is 4x instead of 6x).
    wrong = custom_op("cube_wrong_curvature", lambda x: x ** 3,
                      lambda x, out: 3 * x * x if isinstance(x, float) else 2 * x * x)
    gradcheck_property(wrong, settings=FAST_FAILURE)()  # first order is right
    with pytest.raises(GradcheckError, match="Jacobian mismatch for ∂f/∂x"):
        gradgradcheck_property(wrong, settings=FAST_FAILURE)()


@pytest.mark.slow
def test_gradgradcheck_property_says_a_float_only_op_is_first_order_only():
    with pytest.raises(TypeError, match="'softplus'.*floats only"):
        gradgradcheck_property(softplus, settings=FAST_FAILURE)()


def test_gradgradcheck_property_is_named_after_its_op():
    assert gradgradcheck_property(cube).__name__ == "test_gradgradcheck_cube_strategies"
# --------------------------------------------------------------------------- storage
USER_TEST = '''
from hypothesis import given
from tinygrad_lite.testing import gradcheck_property, mlps


def softplus(x):
    return (x.exp() + 1).log()


test_softplus = gradcheck_property(softplus)


@given(mlps())
def test_networks(net):
    assert net.model.nin >= 1
'''


def run_user_tests(folder, **env):
    import os

    (folder / "test_mine.py").write_text(USER_TEST)
    clean = {k: v for k, v in os.environ.items()
             if k not in ("HYPOTHESIS_STORAGE_DIRECTORY", "XDG_CACHE_HOME")}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "test_mine.py"], cwd=folder, capture_output=True, text=True,
                          env={**clean, "HOME": str(folder / "home"), **env}, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow
def test_strategies_leave_no_hypothesis_folder_in_the_working_directory(tmp_path):
    run_user_tests(tmp_path)
    assert not (tmp_path / ".hypothesis").exists()
    assert (tmp_path / "home" / ".cache" / "tinygrad_lite" / "hypothesis").is_dir()


@pytest.mark.slow
def test_a_chosen_hypothesis_storage_directory_is_respected(tmp_path):
    run_user_tests(tmp_path, HYPOTHESIS_STORAGE_DIRECTORY=str(tmp_path / "mine"))
    assert (tmp_path / "mine").is_dir() and not (tmp_path / ".hypothesis").exists()
    assert not (tmp_path / "home" / ".cache").exists()
