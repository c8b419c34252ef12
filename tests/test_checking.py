"""The checker machinery: right answers pass, wrong ones are diagnosed, inputs stay intact, and
a solution that merely calls the course's or PyTorch's version of the exercise is refused."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

import helpers.exercises as exercises
from helpers.attention import softmax as _imported_softmax
from helpers.exercises.checking import Case, Checker, ForbiddenCall, Mistake, _resolve

X = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])


def _double_rows(x):
    return 2 * x


def make_checker(library="numpy", reference=_double_rows, cases=None, mistakes=(), forbidden=None):
    return Checker(
        exercise="double",
        library=library,
        reference=reference,
        cases=cases or [Case("a 2x3 matrix", (X,))],
        mistakes=list(mistakes),
        forbidden=forbidden,
    )


def test_correct_function_prints_one_success_line(capsys):
    make_checker()(lambda x: x + x)
    assert capsys.readouterr().out == "✓ double: your answer passed the check.\n"


def test_wrong_values_matching_a_mistake_name_it():
    checker = make_checker(
        mistakes=[
            Mistake("added one", "Multiply, do not add.", lambda x: x + 1),
            Mistake("squared", "Twice x is not x squared.", lambda x: x**2),
        ]
    )
    with pytest.raises(AssertionError) as failure:
        checker(lambda x: x * x)
    message = str(failure.value)
    assert "on a 2x3 matrix" in message
    assert "values are wrong (largest difference 24)" in message
    assert "Likely mistake: squared.\nHint: Twice x is not x squared." in message
    assert "added one" not in message


def test_unknown_mistake_gets_a_plain_message_without_a_hint():
    checker = make_checker(mistakes=[Mistake("added one", "Multiply.", lambda x: x + 1)])
    with pytest.raises(AssertionError) as failure:
        checker(lambda x: 3 * x)
    assert "Likely mistake" not in str(failure.value)


def test_wrong_shape_is_reported_with_both_shapes():
    with pytest.raises(AssertionError, match=r"expected \(2, 3\) float64, got \(3, 2\) float64"):
        make_checker()(lambda x: 2 * x.T)


def test_exception_is_matched_to_a_mistake_that_raises_the_same_way():
    checker = make_checker(
        mistakes=[Mistake("matmul with itself", "Shapes (2,3)@(2,3) do not fit.", lambda x: x @ x)]
    )
    with pytest.raises(AssertionError, match="(?s)raised ValueError.*Likely mistake: matmul"):
        checker(lambda x: np.matmul(x, x))


def test_not_implemented_passes_through_untouched():
    def stub(x):
        raise NotImplementedError()

    with pytest.raises(NotImplementedError) as unanswered:
        make_checker()(stub)
    # the stub of a student version: one line that says what to do, no checker frames
    assert str(unanswered.value).startswith("double is not answered yet: replace `raise")
    assert unanswered.value.__suppress_context__

    def calls_something_unfinished(x):
        raise NotImplementedError("aten::foo is not implemented for 'Half'")

    with pytest.raises(NotImplementedError, match="^aten::foo is not implemented"):
        make_checker()(calls_something_unfinished)


def test_inputs_are_copied_so_in_place_changes_cannot_spoil_the_check():
    def in_place(x):
        x *= 2
        return x

    make_checker(cases=[Case("first", (X,)), Case("second", (X,))])(in_place)
    assert X[0, 0] == 1.0


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_nan_only_matches_nan():
    checker = make_checker(
        reference=lambda x: np.exp(x) / np.exp(x).sum(),
        cases=[Case("huge logits", (np.array([1000.0, 1000.0]),))],
        mistakes=[
            Mistake(
                "no max subtraction", "Subtract the max.", lambda x: np.exp(x) / np.exp(x).sum()
            )
        ],
    )
    # The reference itself overflows here: NaN must equal NaN for the reference to pass.
    checker(lambda x: np.exp(x) / np.exp(x).sum())
    with pytest.raises(AssertionError, match="your result contains NaN"):
        make_checker(
            reference=lambda x: np.exp(x - x.max()) / np.exp(x - x.max()).sum(),
            cases=[Case("huge logits", (np.array([1000.0, 1000.0]),))],
        )(lambda x: np.exp(x) / np.exp(x).sum())


def test_bool_results_must_be_bool():
    checker = make_checker(
        reference=lambda x: x > 2,
        mistakes=[Mistake("float mask", "Return bools.", lambda x: (x > 2).astype(float))],
    )
    checker(lambda x: ~(x <= 2))
    with pytest.raises(AssertionError, match="float mask"):
        checker(lambda x: (x > 2) * 1.0)


def test_tuple_results_are_compared_element_by_element():
    checker = make_checker(
        library="torch",
        reference=lambda t: (t.sum(-1), t.max(-1).values),
        cases=[Case("a 2x3 tensor", (torch.tensor(X),))],
        mistakes=[
            Mistake("swapped", "Return (sum, max).", lambda t: (t.max(-1).values, t.sum(-1)))
        ],
    )
    checker(lambda t: (t.sum(dim=1), t.amax(dim=1)))
    with pytest.raises(AssertionError, match="Likely mistake: swapped"):
        checker(lambda t: (t.amax(dim=1), t.sum(dim=1)))
    with pytest.raises(AssertionError, match="expected a tuple of 2 results"):
        checker(lambda t: t.sum(dim=1))


def test_library_mismatch_is_explained_both_ways():
    with pytest.raises(AssertionError, match="(?s)works in NumPy.*returned a torch.Tensor"):
        make_checker()(lambda x: torch.tensor(2 * x))
    torch_checker = make_checker(library="torch", cases=[Case("a tensor", (torch.tensor(X),))])
    with pytest.raises(AssertionError, match="(?s)works in PyTorch.*returned numpy.ndarray"):
        torch_checker(lambda t: 2 * t.numpy())


def test_misuse_of_the_checker_itself_fails_clearly():
    with pytest.raises(TypeError, match="pass your function itself"):
        make_checker()(np.array([1.0]))
    with pytest.raises(ValueError, match="library must be 'numpy' or 'torch'"):
        make_checker(library="jax")


# ------------------------------------------------------------ forbidden: what the learner writes


def test_a_forbidden_call_is_refused_and_names_what_was_called():
    checker = make_checker(
        library="torch",
        reference=lambda t: torch.exp(t) / torch.exp(t).sum(-1, keepdim=True),
        cases=[Case("a 2x3 tensor", (torch.tensor(X),))],
        forbidden={"torch.softmax": "exponentiate and divide by the sum."},
    )
    checker(lambda t: t.exp() / t.exp().sum(-1, keepdim=True))
    with pytest.raises(ForbiddenCall) as refusal:
        checker(lambda t: torch.softmax(t, -1))
    assert str(refusal.value) == (
        "double: your function calls torch.softmax, PyTorch's own implementation; "
        "write it yourself: exponentiate and divide by the sum."
    )
    assert torch.softmax is _TORCH_SOFTMAX, "the original is put back"


_TORCH_SOFTMAX = torch.softmax


def _softmax_checker(**forbidden):
    return make_checker(
        library="torch",
        reference=lambda t, dim=-1: torch.exp(t) / torch.exp(t).sum(dim, keepdim=True),
        cases=[Case("a 2x3 tensor", (torch.tensor(X),))],
        forbidden=forbidden
        or {"helpers.attention.softmax": "write it.", "torch.Tensor.softmax": "w."},
    )


def test_every_way_of_reaching_a_forbidden_function_is_refused():
    import helpers.attention
    from helpers.attention import softmax as renamed

    checker = _softmax_checker()
    attempts = {
        "the module attribute": lambda t: helpers.attention.softmax(t),
        "a name imported into the student's namespace": lambda t: _imported_softmax(t),
        "a name of the enclosing function": lambda t: renamed(t),
        "the function itself, assigned": helpers.attention.softmax,
        "a tensor method": lambda t: t.softmax(-1),
    }
    for how, attempt in attempts.items():
        with pytest.raises(ForbiddenCall, match="your function calls"):
            checker(attempt)
        assert renamed is _imported_softmax is helpers.attention.softmax, how
    assert "softmax" not in vars(torch.Tensor), "an inherited method is removed again, not copied"


def test_a_refusal_stands_even_when_the_student_catches_it():
    import helpers.attention

    def sly(t):
        try:
            return helpers.attention.softmax(t)
        except Exception:  # noqa: BLE001 - the point of the test
            return torch.exp(t) / torch.exp(t).sum(-1, keepdim=True)

    with pytest.raises(ForbiddenCall, match="helpers.attention.softmax, the course's reference"):
        _softmax_checker()(sly)


def test_a_keyword_condition_refuses_only_that_use():
    import torch.nn.functional as F

    logits, target = torch.tensor(X), torch.tensor([2, 0])
    checker = make_checker(
        library="torch",
        reference=lambda z, y: F.cross_entropy(z, y, label_smoothing=0.1),
        cases=[Case("two rows of three logits", (logits, target))],
        forbidden={"torch.nn.functional.cross_entropy(label_smoothing)": "smooth it yourself."},
    )

    def by_hand(z, y):
        return 0.9 * F.cross_entropy(z, y) - 0.1 * z.log_softmax(-1).mean(-1).mean()

    checker(by_hand)  # the plain cross-entropy is a building block
    with pytest.raises(ForbiddenCall, match="cross_entropy with label_smoothing, PyTorch's own"):
        checker(lambda z, y: torch.nn.CrossEntropyLoss(label_smoothing=0.1)(z, y))


def test_a_re_exported_helper_is_refused_through_its_package_too():
    import helpers.inspection

    checker = make_checker(
        library="torch",
        reference=lambda w: w == w.amax(-1, keepdim=True),
        cases=[Case("a 2x3 map", (torch.tensor([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2]]),))],
        forbidden={"helpers.inspection.alignment.argmax_alignment": "one argmax per row."},
    )
    with pytest.raises(ForbiddenCall, match="helpers.inspection.alignment.argmax_alignment"):
        checker(lambda w: helpers.inspection.argmax_alignment(w))


def test_forbidden_names_must_be_dotted_paths():
    with pytest.raises(ValueError, match="dotted paths"):
        make_checker(forbidden={"softmax": "no module"})
    with pytest.raises(ValueError, match="dotted paths"):
        make_checker(forbidden={"torch.softmax(dim=1)": "only a keyword's name"})


# ------------------------------------------------------------ forbidden: the course's checkers

FORBIDDING = {
    name: checker
    for name, checker in vars(exercises).items()
    if isinstance(checker, Checker) and checker.forbidden
}
# Every exercise that asks for a function the course or PyTorch already has.
MUST_FORBID = {
    "check_cosine_similarity",
    "check_soft_lookup",
    "check_stable_softmax",
    "check_causal_mask",
    "check_scaled_dot_product_attention",
    "check_split_heads",
    "check_merge_heads",
    "check_multi_head_attention",
    "check_sinusoidal_encoding",
    "check_decoder_layer",
    "check_label_smoothed_loss",
    "check_inverse_sqrt_lr",
    "check_greedy_decode",
    "check_argmax_alignment",
    "check_alignment_error_rate",
}
FORBIDDEN_NAMES = [
    pytest.param(checker, key, id=f"{name}: {key}")
    for name, checker in FORBIDDING.items()
    for key in checker.forbidden
]


# That each checker's reference still passes, and each catalogued mistake is still named rather
# than refused, is tests/test_exercise_catalogues.py's job: it runs them through these checkers.


def test_the_course_checkers_forbid_their_references():
    missing = MUST_FORBID - set(FORBIDDING)
    assert not missing, f"these checkers accept a call to the function they ask for: {missing}"


def _through_the_dotted_name(key: str):
    """A 'solution' that calls the forbidden name the way a student would write it."""
    dotted, _, keyword = key.rstrip(")").partition("(")

    def cheat(*args, **kwargs):
        owner, attribute, _ = _resolve(dotted)
        return getattr(owner, attribute)(*args, **({keyword: 0.1} if keyword else kwargs))

    return cheat


@pytest.mark.parametrize(("checker", "key"), FORBIDDEN_NAMES)
def test_each_forbidden_name_is_refused_with_its_reason(checker, key):
    with pytest.raises(ForbiddenCall) as refusal:
        checker(_through_the_dotted_name(key))
    message = str(refusal.value)
    assert message.startswith(f"{checker.exercise}: your function calls ")
    assert message.endswith(f"; write it yourself: {checker.forbidden[key]}")
    assert ("the course's reference" if key.startswith("helpers.") else "PyTorch's own") in message
    _resolve(key.partition("(")[0])  # everything is put back: the name resolves as before


def _sdpa_with_weights(q, k, v, mask=None):
    import torch.nn.functional as F

    scores = q @ k.transpose(-2, -1) / q.shape[-1] ** 0.5
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask), scores.softmax(-1)


def _mha_with_torch(query, key, value, w_q, w_k, w_v, w_o, num_heads, mask=None):
    module = torch.nn.MultiheadAttention(query.shape[-1], num_heads, bias=False, batch_first=True)
    with torch.no_grad():
        module.in_proj_weight.copy_(torch.cat([w_q.T, w_k.T, w_v.T]))
        module.out_proj.weight.copy_(w_o.T)
    if mask is not None and mask.ndim == 3:
        mask = mask.repeat_interleave(num_heads, dim=0).expand(-1, query.shape[1], -1)
    output, weights = module(
        query, key, value, attn_mask=None if mask is None else ~mask, average_attn_weights=False
    )
    return output.detach(), weights.detach()


def _sinusoidal_from_the_module(max_len, d_model):
    from helpers.positional_encoding import SinusoidalPositionalEncoding

    return SinusoidalPositionalEncoding(d_model, max_len)(torch.zeros(1, max_len, d_model))[0]


def _greedy_from_helpers(model, src, bos_id, eos_id, max_len):
    from helpers.decoding import greedy_decode

    return greedy_decode(model, src, bos_id=bos_id, eos_id=eos_id, pad_id=eos_id, max_len=max_len)


CORRECT_BUT_NOT_WRITTEN = [
    ("check_stable_softmax", lambda x, dim=-1: torch.softmax(x, dim), "torch.softmax"),
    ("check_stable_softmax", lambda x, dim=-1: x.log_softmax(dim).exp(), "Tensor.log_softmax"),
    ("check_scaled_dot_product_attention", _sdpa_with_weights, "scaled_dot_product_attention"),
    ("check_multi_head_attention", _mha_with_torch, "torch.nn.MultiheadAttention"),
    ("check_sinusoidal_encoding", _sinusoidal_from_the_module, "sinusoidal_encoding"),
    ("check_greedy_decode", _greedy_from_helpers, "helpers.decoding.greedy_decode"),
]


@pytest.mark.parametrize(
    ("name", "solution", "called"), CORRECT_BUT_NOT_WRITTEN, ids=lambda x: getattr(x, "__name__", x)
)
def test_a_correct_answer_that_calls_the_library_is_refused(name, solution, called, capsys):
    checker = FORBIDDING[name]
    permissive = copy.copy(checker)
    permissive.forbidden = {}
    permissive(solution)  # the answer is right ...
    assert capsys.readouterr().out.startswith("✓")
    with pytest.raises(ForbiddenCall, match=f"your function calls [\\w.]*{called}"):
        checker(solution)  # ... but it is not the learner's own


def test_building_blocks_the_exercise_allows_still_pass(capsys):
    from helpers.attention import scaled_dot_product_attention
    from helpers.multi_head_attention import merge_heads, split_heads

    def mha_from_course_pieces(query, key, value, w_q, w_k, w_v, w_o, num_heads, mask=None):
        q, k, v = (
            split_heads(x @ w, num_heads) for x, w in ((query, w_q), (key, w_k), (value, w_v))
        )
        if mask is not None and mask.ndim == 3:
            mask = mask.unsqueeze(1)
        output, weights = scaled_dot_product_attention(q, k, v, mask)
        return merge_heads(output) @ w_o, weights

    exercises.check_multi_head_attention(mha_from_course_pieces)
    assert capsys.readouterr().out.startswith("✓ multi_head_attention")
