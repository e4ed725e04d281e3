"""tinygrad_lite: a scalar autograd engine that makes neural networks visible.

The public API is re-exported here::

    from tinygrad_lite import Value, no_grad
"""

from tinygrad_lite.compile import (
    CompiledTrainer,
    PreparedBatch,
    TrainingSet,
    Program,
    TraceError,
    UnsupportedOpError,
    compile_cost,
    compile_function,
    compile_graph,
    compile_model,
)
from tinygrad_lite.data import (
    Dataset,
    DatasetSplit,
    iterate_minibatches,
    shuffled_order,
    load_dataset,
    load_digits,
    load_idx,
    load_mnist,
    one_hot,
    shifted_copies,
)
from tinygrad_lite.engine import Value, is_grad_enabled, no_grad, zero_grad
from tinygrad_lite.autodiff import grad, hessian, hvp, jvp, jvp_graph
from tinygrad_lite.gradcheck import (
    GradcheckError,
    gradcheck,
    gradcheck_directional,
    gradcheck_model,
    gradgradcheck,
)
from tinygrad_lite.losses import COSTS, batch_cost, cross_entropy_cost, get_cost, quadratic_cost
from tinygrad_lite.nn import ACTIVATIONS, MLP, Layer, Neuron
from tinygrad_lite.nn import bias_label, weight_label
from tinygrad_lite.ops import custom_op
from tinygrad_lite.optim import SGD
from tinygrad_lite.serialize import from_arrays, load_model, save_model, to_arrays
from tinygrad_lite.serialize import load_npz, save_npz
from tinygrad_lite.torch_bridge import from_torch, to_torch
from tinygrad_lite.viz import (
    GraphView,
    GraphvizUnavailable,
    available_backends,
    draw_collapsed,
    draw_graph,
    draw_network,
    episode4_chain,
    episode4_svg,
    network_svg,
    save_graph,
    to_svg,
)
from tinygrad_lite.train import (
    EpochStats,
    History,
    Snapshot,
    accuracy,
    evaluate,
    predict,
    scalar_step,
    subset,
    train,
)
from tinygrad_lite.explore import ExplorePage, explore, explore_training

__version__ = "0.1.0"

__all__ = [
    "Value", "no_grad", "is_grad_enabled", "zero_grad",
    "Dataset", "DatasetSplit", "load_digits", "load_idx", "load_mnist", "load_dataset", "one_hot",
    "iterate_minibatches",
    "shuffled_order",
    "shifted_copies",
    "MLP", "Layer", "Neuron", "ACTIVATIONS",
    "quadratic_cost", "cross_entropy_cost", "batch_cost", "get_cost", "COSTS",
    "SGD", "train", "History", "EpochStats", "evaluate", "accuracy", "predict", "subset",
    "scalar_step", "save_model", "load_model", "to_arrays", "from_arrays",
    "draw_graph", "draw_network", "draw_collapsed", "episode4_chain", "episode4_svg",
    "network_svg", "to_svg", "save_graph", "GraphView", "GraphvizUnavailable",
    "available_backends",
    "CompiledTrainer", "Program", "TraceError", "UnsupportedOpError", "compile_cost",
    "compile_model", "compile_function", "compile_graph",
    "PreparedBatch",
    "TrainingSet",
    "gradcheck", "gradcheck_directional", "gradcheck_model", "GradcheckError", "custom_op",
    "grad", "hessian", "hvp", "jvp", "jvp_graph", "gradgradcheck",
    "save_npz", "load_npz", "to_torch", "from_torch",
    "explore", "explore_training", "ExplorePage", "Snapshot",
    "__version__",
    "weight_label", "bias_label",
]
