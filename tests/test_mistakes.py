"""Known mistakes: grader/mistakes.py on hand-made functions, and the lists in
solutions/<folder>/mistakes.py checked against the reference, the mutants and the inputs the
hidden tests draw. That each listed mistake is named on its mutant is checked where the mutants
are graded (tests/test_mutants.py)."""

import copy
import importlib
import inspect
import re
import warnings

import numpy as np
import pytest

from grader import mistakes, spec
from grader.compare import Mismatch, agrees, check_array, check_scalar
from grader.grade import grade
from grader.mistakes import Mistake, Recorder
from mutants import a1, a2, a3, a4, a5  # tests/ is on sys.path (rootdir-relative imports)

CORPORA = {"a1": a1, "a2": a2, "a3": a3, "a4": a4, "a5": a5}
MINIMUM = {"a1": 15, "a2": 10, "a3": 30, "a4": 10, "a5": 12}
HINT = " — this is what you get when "
LISTED = {aid: [m for found in mistakes.load(spec.get(aid).mistakes_module).values()
                for m in found] for aid in CORPORA}
CASES = [pytest.param(aid, m, id=f"{aid}-{m.reproduce.__name__}")
         for aid, listed in LISTED.items() for m in listed]


# -- the mechanism, on hand-made reference functions and mistakes ---------------------------
def double(x):
    return 2 * x


PLUS_ONE = Mistake("double", "one is added instead of doubling", lambda x: x + 1)


def mismatch(got, expected) -> Mismatch:
    """The Mismatch check_array raises for ``got``, as a hidden test would."""
    with pytest.raises(Mismatch) as info:
        check_array("out", got, expected)
    return info.value


def test_a_mistake_that_gives_the_students_value_is_named():
    recorder = Recorder({"double": [PLUS_ONE]})
    x = np.array([1.0, 5.0])
    expected = recorder.wrap("double", double)(x)
    assert recorder.name(mismatch(x + 1, expected)) == PLUS_ONE.says
    assert recorder.name(mismatch(x + 2, expected)) == ""


def test_calls_to_functions_without_listed_mistakes_are_not_recorded():
    assert Recorder({"double": [PLUS_ONE]}).wrap("halve", double) is double


def test_a_mistake_within_the_tolerance_of_the_reference_is_not_named():
    close = Mistake("double", "never named", lambda x: 2 * x * (1 + 0.9e-6))
    recorder = Recorder({"double": [close]})
    x = np.array([1.0, 5.0])
    expected = recorder.wrap("double", double)(x)
    assert recorder.name(mismatch(2 * x * (1 + 1.8e-6), expected)) == ""  # near both, not equal


def test_the_arguments_are_copied_before_the_reference_call():
    def double_in_place(x):  # a reference that changes its argument, as batchnorm does bn_param
        x *= 2
        return x.copy()

    recorder = Recorder({"double_in_place": [Mistake("double_in_place", "+1", lambda x: x + 1)]})
    x = np.array([1.0, 5.0])
    expected = recorder.wrap("double_in_place", double_in_place)(x)
    x[:] = 100.0  # and the test changes it again afterwards
    assert recorder.name(mismatch(np.array([2.0, 6.0]), expected)) == "+1"


def test_a_mistake_that_raises_is_recorded_and_names_nothing():
    def broken(x):
        raise ValueError("a bug in the listing")

    recorder = Recorder({"double": [Mistake("double", "never named", broken)]})
    x = np.array([1.0, 5.0])
    expected = recorder.wrap("double", double)(x)
    assert recorder.name(mismatch(x + 1, expected)) == ""
    assert len(recorder.errors) == 1
    assert "broken (double)" in recorder.errors[0]
    assert "ValueError: a bug in the listing" in recorder.errors[0]


def test_the_failing_output_is_found_in_a_tuple_result_by_identity():
    def twice(x):  # two outputs of equal value
        return 2 * x, 2 * x

    second_off = Mistake("twice", "the second output is off by one", lambda x: (2 * x, 2 * x + 1))
    recorder = Recorder({"twice": [second_off]})
    x = np.array([1.0, 5.0])
    first, second = recorder.wrap("twice", twice)(x)
    assert recorder.name(mismatch(2 * x + 1, second)) == second_off.says
    assert recorder.name(mismatch(2 * x + 1, first)) == ""
    assert recorder.name(mismatch(2 * x + 1, second.copy())) == ""  # not the reference's value


def test_a_value_in_a_returned_dict_is_found_too_but_never_a_shared_int():
    def step(w):  # an update rule: (next_w, config)
        return w - 1, {"velocity": -np.ones_like(w), "t": 1}

    flipped = Mistake("step", "the velocity has the wrong sign",
                      lambda w: (w - 1, {"velocity": np.ones_like(w), "t": 2}))
    recorder = Recorder({"step": [flipped]})
    _, config = recorder.wrap("step", step)(np.zeros(3))
    assert recorder.name(mismatch(np.ones(3), config["velocity"])) == flipped.says
    with pytest.raises(Mismatch) as info:
        check_scalar("t", 2, config["t"])
    assert recorder.name(info.value) == ""  # 1 is the interpreter's one object for every 1


def test_a_mistake_whose_value_is_not_finite_names_nothing():
    half_nan = Mistake("double", "never named", lambda x: np.array([x[0] + 1, np.nan]))
    recorder = Recorder({"double": [half_nan]})
    expected = recorder.wrap("double", double)(np.array([1.0, 5.0]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nor does comparing with it warn
        assert recorder.name(mismatch(np.array([2.0, 7.0]), expected)) == ""


def test_a_value_of_a_config_the_reference_changes_later_is_still_found():
    def step(w, config):  # changes its config in place and returns it, as the references do
        config["velocity"] = config.get("velocity", 0) - 1.0 * np.ones_like(w)
        return w + config["velocity"], config

    flipped = Mistake("step", "the velocity has the wrong sign",
                      lambda w, config: (w + 1, {"velocity": np.ones_like(w)}))
    recorder = Recorder({"step": [flipped]})
    config = {}
    _, config = recorder.wrap("step", step)(np.zeros(3), config)
    first = config["velocity"]
    recorder.wrap("step", step)(np.zeros(3), config)  # the next step replaces the velocity
    assert recorder.name(mismatch(np.ones(3), first)) == flipped.says


def test_a_listing_that_breaks_anywhere_names_nothing_and_is_recorded():
    ragged = Mistake("double", "never named", lambda x: [x, [1.0]])  # np.isfinite fails on it
    recorder = Recorder({"double": [ragged, PLUS_ONE]})
    expected = recorder.wrap("double", double)(np.array([1.0, 5.0]))
    assert recorder.name(mismatch(np.array([2.0, 6.0]), expected)) == PLUS_ONE.says
    assert len(recorder.errors) == 1 and "double" in recorder.errors[0]


def test_an_argument_that_cannot_be_copied_is_not_recorded_and_the_call_still_runs():
    class Uncopyable:
        def __deepcopy__(self, memo):
            raise TypeError("no copies")

    recorder = Recorder({"double": [PLUS_ONE]})
    assert recorder.wrap("double", lambda x, extra: 2 * x)(3.0, Uncopyable()) == 6.0
    assert recorder.calls == []


def test_load_without_any_solutions_package_lists_nothing():
    assert mistakes.load("no_such_package_anywhere.a1.mistakes") == {}


def test_load_of_a_module_that_does_not_exist_lists_nothing():
    assert mistakes.load("solutions.a1_networks.no_such_module") == {}
    assert mistakes.load("solutions.no_such_assignment.mistakes") == {}


# -- the assignments' lists -----------------------------------------------------------------
def reference_functions(aid: str) -> dict:
    """The reference's public names, as the ref fixture of the hidden tests has them."""
    assignment, found = spec.get(aid), {}
    for module in assignment.modules:
        found.update(vars(importlib.import_module(assignment.reference_module(module))))
    return {name: value for name, value in found.items() if not name.startswith("_")}


def task_of(assignment: spec.Assignment, function: str) -> str:
    """The task that grades ``function``: the one its stub's NotImplementedError names."""
    module = importlib.import_module(f"assignments.{assignment.folder.name}."
                                     f"{assignment.functions()[function]}")
    return re.search(r'NotImplementedError\("([\w.]+):', inspect.getsource(
        getattr(module, function))).group(1)


@pytest.mark.parametrize("aid", CORPORA)
def test_each_assignment_lists_its_known_mistakes(aid):
    assert len(LISTED[aid]) >= MINIMUM[aid]


@pytest.mark.parametrize("aid,listed", CASES)
def test_a_mistake_is_of_a_reference_function_and_made_by_a_mutant_of_its_task(aid, listed):
    assignment = spec.get(aid)
    assert listed.function in assignment.functions()
    reference = reference_functions(aid)[listed.function]
    assert inspect.signature(listed.reproduce) == inspect.signature(reference)
    mutants = {m.name: m for m in CORPORA[aid].MUTANTS}
    assert listed.mutant in mutants
    assert mutants[listed.mutant].task == task_of(assignment, listed.function)


@pytest.fixture
def grading_markers(pytestconfig):
    """The markers the hidden test modules apply when imported (--strict-markers)."""
    for marker in ("points(n): points for this test", "task(id): the task this test grades"):
        pytestconfig.addinivalue_line("markers", marker)


def hidden(aid: str, module: str):
    """A hidden test module of the assignment: its shapes and the way it draws inputs."""
    return importlib.import_module(f"{spec.get(aid).reference_module('hidden_tests')}.{module}")


def a1_inputs(rng) -> dict[str, list[tuple]]:
    """Arguments of the A1 functions with listed mistakes (and of the forward passes whose
    backward passes have some) of the shapes and kinds the hidden tests draw."""
    layers, act, loss, optim, norm, graph, gradcheck = (hidden("a1", f"test_{m}_hidden") for m in (
        "layers", "activations", "losses", "optim", "normalization", "graph", "gradient_check"))
    normal, kinked = rng.standard_normal, lambda shape: act.with_zeros(rng, shape)
    large = 1e3 * normal((4, 5))
    ties = loss.pairs(rng, (4, 5))
    ties[1].flat[::3] = ties[0].flat[::3]
    regression = [loss.pairs(rng, shape) for shape in loss.REGRESSION_SHAPES]
    return {
        "affine_forward": [layers.affine_inputs(rng, *case) for case in layers.AFFINE_SHAPES],
        "relu_forward": [(kinked(shape),) for shape in act.SHAPES],
        "leaky_relu_forward": [(kinked(shape), *p) for shape in act.SHAPES for p in ((), (0.2,))],
        "prelu_forward": [(kinked(shape), rng.uniform(0.0, 0.5, shape[1]))
                          for shape in act.PRELU_SHAPES],
        "elu_forward": [(kinked(shape), *p) for shape in act.SHAPES for p in ((), (0.5,))]
        + [(large, 2.0)],
        "sigmoid_forward": [(3 * normal(shape),) for shape in act.SHAPES] + [(large,)],
        "tanh_forward": [(2 * normal(shape),) for shape in act.SHAPES] + [(large,)],
        "softmax_loss": [loss.scores(rng, *shape) for shape in loss.SHAPES]
        + [loss.scores(rng, 6, 5, scale=1e3)],
        "svm_loss": [loss.scores(rng, *shape) for shape in loss.SHAPES],
        "mse_loss": regression,
        "mae_loss": [*regression, ties],
        "bce_with_logits_loss": [loss.logits_and_targets(rng, shape, 3.0)
                                 for shape in loss.REGRESSION_SHAPES]
        + [loss.logits_and_targets(rng, (6, 5), scale=1e3)],
        "rel_error": [(normal(shape), normal(shape)) for shape in gradcheck.SHAPES],
        "square_of_sum_forward": [(normal(shape), normal(shape)) for shape in graph.SHAPES],
        "xor_forward": [(normal((n, d)), normal((d, h)), normal(h), normal(h), float(normal()))
                        for n, d, h in graph.XOR_SHAPES],
        **{rule: [(normal(shape), scale * normal(shape), config)
                  for shape in optim.SHAPES
                  for config, scale in ((None, 1.0), (dict(custom), 1e-2))]
           for rule, custom in optim.CUSTOM.items()},
        "batchnorm_forward": [(*norm.inputs(rng, n, d), {"mode": "train", **extra})
                              for n, d, extra in norm.BN_CASES]
        + [(*norm.inputs(rng, n, d), {"mode": "test", "running_mean": normal(d),
                                      "running_var": rng.uniform(0.2, 3.0, d)})
           for n, d in ((1, 4), (5, 3), (12, 6))],
        "layernorm_forward": [(*norm.inputs(rng, n, d), dict(extra))
                              for n, d, extra in norm.LN_CASES],
    }


def a2_inputs(rng) -> dict[str, list[tuple]]:
    """The same for A2."""
    layers, conv_pool, sbn = (hidden("a2", f"test_{m}_hidden") for m in (
        "layers", "conv_pool", "spatial_bn"))
    normal = rng.standard_normal
    kinked = [normal(shape) for shape in layers.RELU_SHAPES]
    for x in kinked:
        x.flat[::3] = 0.0
    pools = [(normal(case[0]), conv_pool.pool_param(case)) for case in conv_pool.POOL_CASES]
    ties = [(rng.integers(-2, 3, case[0]).astype(np.float64), conv_pool.pool_param(case))
            for case in conv_pool.POOL_CASES]
    return {
        "affine_forward": [layers.affine_inputs(rng, *case) for case in layers.AFFINE_SHAPES],
        "relu_forward": [(x,) for x in kinked],
        "conv_forward_naive": [conv_pool.conv_inputs(rng, case) for case in conv_pool.CONV_CASES],
        "max_pool_forward_naive": pools + ties,
        "avg_pool_forward_naive": pools,
        "spatial_batchnorm_forward": [(*sbn.inputs(rng, shape), {"mode": "train", **extra})
                                      for shape, extra in sbn.CASES]
        + [(*sbn.inputs(rng, shape), {"mode": "test", "running_mean": normal(shape[1]),
                                      "running_var": rng.uniform(0.2, 3.0, shape[1])})
           for shape in ((1, 3, 2, 2), (4, 2, 3, 5))],
    }


def a3_inputs(rng) -> dict[str, list[tuple]]:
    """The same for A3."""
    recurrent, words, clipping = (hidden("a3", f"test_{m}_hidden") for m in (
        "recurrent", "words", "clipping"))
    normal = rng.standard_normal
    losses = []
    for n, t, v, kind in words.LOSSES:
        y, keep = rng.integers(0, v, (n, t)), words.mask(rng, n, t, kind)
        losses += [(scale * normal((n, t, v)), y, keep) for scale in (1.0, 1e3)]
    grads = [clipping.gradients(rng, scale) for scale in (0.1, 3.0)]
    return {
        **{f"{kind}_step_forward": [recurrent.step_inputs(rng, kind, shape)
                                    for shape in recurrent.STEPS] for kind in recurrent.GATES},
        **{f"{kind}_forward": [recurrent.sequence_inputs(rng, kind, shape)
                               for shape in recurrent.SEQUENCES] for kind in recurrent.GATES},
        "word_embedding_forward": [(words.word_indices(rng, n, t, v), normal((v, d)))
                                   for n, t, v, d in words.EMBEDDINGS],
        "temporal_affine_forward": [words.affine_inputs(rng, case) for case in words.AFFINES],
        "temporal_softmax_loss": losses,
        "clip_grad_norm": [(g, factor * clipping.global_norm(g)) for g in grads
                           for factor in (1.5, 0.25)]
        + [(clipping.unit_norm_gradients(rng), 1.5)],
    }


def a4_inputs(rng) -> dict[str, list[tuple]]:
    """The same for A4."""
    attn, layers, swin = (hidden("a4", f"test_{m}_hidden") for m in (
        "attention", "layers", "swin_bert"))
    return {
        "scaled_dot_product_attention_forward": [
            attn.qkv(rng, *attn.attention_shape(rng, case)) for case in attn.ATTENTION],
        "causal_mask": [(t,) for t in (2, 5, 8)],
        "additive_attention_forward": [attn.additive_inputs(rng, c) for c in attn.ADDITIVE],
        "multihead_attention_forward": [attn.multihead_inputs(rng, c) for c in attn.MULTIHEAD],
        "sinusoidal_positional_encoding": layers.SINUSOIDS,
        "position_embedding_forward": [layers.embedding_inputs(rng, c)
                                       for c in layers.EMBEDDINGS],
        "layernorm_forward": [layers.layernorm_inputs(rng, c) for c in layers.LAYERNORMS],
        "gelu_forward": [(layers.gelu_input(rng, shape),) for shape in layers.GELUS],
        "window_reverse": [(rng.standard_normal((n * (h // ws) * (w // ws), ws, ws, c)), ws, h, w)
                           for n, h, w, c, ws in swin.PARTITIONS],
    }


def a5_inputs(rng) -> dict[str, list[tuple]]:
    """The same for A5."""
    boxes, roi, gen, feat = (hidden("a5", f"test_{m}_hidden") for m in (
        "boxes", "roi", "generative", "features"))
    return {
        "iou": [(boxes.random_boxes(rng, m, 4.0), boxes.random_boxes(rng, k, 4.0))
                for m, k in boxes.IOU_SHAPES]
        + [(boxes.shifted_edge_boxes(rng), boxes.shifted_edge_boxes(rng))],
        "nms": [boxes.nms_inputs(rng, *case) for case in boxes.NMS_CASES]
        + [boxes.nms_edge_inputs(rng, t) for t in (0.5, 0.2)],
        "average_precision": [boxes.ap_inputs(rng, *case) for case in boxes.AP_CASES],
        "mean_average_precision": [(*boxes.scene(rng), t) for t in (0.5, 0.75)]
        + [(*boxes.two_ground_truths_scene(), 0.5)],
        "roi_pool_forward": [roi.pool_inputs(rng, case) for case in roi.POOL_CASES],
        "detection_loss_forward": [roi.loss_inputs(rng, case) for case in roi.LOSS_CASES],
        "gan_generator_loss": [gen.logits(rng, case)[1:] for case in gen.GAN_CASES],
        "reparameterize_forward": [gen.latent(rng, n, z) for n, z, _ in gen.VAE_SHAPES],
        "gaussian_kl": [gen.latent(rng, n, z)[:2] for n, z, _ in gen.VAE_SHAPES],
        "pca_fit": [(feat.pca_data(rng, n, d), k) for n, d, k in feat.PCA_CASES],
        "knn_predict": [feat.knn_inputs(rng, case) for case in feat.KNN_CASES],
    }


INPUTS = {"a1": a1_inputs, "a2": a2_inputs, "a3": a3_inputs, "a4": a4_inputs, "a5": a5_inputs}


def arguments(aid: str, function: str, rng) -> list[tuple]:
    """Arguments for ``function`` like the hidden tests'; a backward pass gets a random
    upstream gradient for each output (the LSTM step has two) and the reference's cache of its
    forward pass on the forward's arguments."""
    inputs = INPUTS[aid](rng)
    if "_backward" not in function:
        return inputs[function]
    forward = function.replace("_backward", "_forward")
    found = []
    for args in inputs[forward]:
        *outs, cache = reference_functions(aid)[forward](*copy.deepcopy(args))
        found.append((*(rng.standard_normal(np.shape(out)) for out in outs), cache))
    return found


def compared(aid: str, function: str, result) -> tuple:
    """The values of a result the hidden tests compare with the reference: the outputs of a
    forward pass (all but its cache, if it returns one), next_w of an update rule (one that
    takes a config), every value of the others; a dict's values one by one."""
    values = result if isinstance(result, tuple) else (result,)
    if "_forward" in function:
        kept = values[:-1] or values
    elif "config" in inspect.signature(reference_functions(aid)[function]).parameters:
        kept = values[:1]
    else:
        kept = values
    return tuple(v for value in kept
                 for v in (value.values() if isinstance(value, dict) else (value,)))


@pytest.mark.usefixtures("grading_markers")
@pytest.mark.parametrize("aid,listed", CASES)
def test_a_mistake_differs_from_the_reference_on_the_hidden_tests_inputs(aid, listed):
    """A real bug, and the grader can run it on whatever the hidden tests pass without an
    exception (an internal error) or a warning (noise on the grader's stderr)."""
    reference = reference_functions(aid)[listed.function]
    differs = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for args in arguments(aid, listed.function, np.random.default_rng(0)):
            want = compared(aid, listed.function, reference(*copy.deepcopy(args)))
            got = compared(aid, listed.function, listed.reproduce(*copy.deepcopy(args)))
            differs.append(not all(agrees(g, w) for g, w in zip(got, want, strict=True)))
    assert any(differs)


def test_the_example_submissions_report_names_its_momentum_mistake():
    momentum, = (m for m in LISTED["a1"] if m.function == "sgd_momentum")
    result = grade(spec.ROOT / "examples" / "a1_submission", spec.get("a1"),
                   tasks=["a1.momentum"])
    hidden_feedback = [line for t in result.tests if t.visibility == "hidden"
                       for line in t.feedback_lines()]
    assert hidden_feedback and all(HINT + momentum.says in line for line in hidden_feedback)
    velocity = [line for line in hidden_feedback if "config['velocity']" in line]
    # the state is named too, on its own line: found in the config the reference returned
    assert velocity and all(HINT + momentum.says in line for line in velocity)
