"""Comparison helpers: each failure message names the output, what is wrong, and where."""
import numpy as np
import pytest

from grader.compare import Mismatch, check_array, check_scalar, expect_tuple
from grader.wire import Handle


def message(func, *args, **kwargs) -> str:
    with pytest.raises(Mismatch) as info:
        func(*args, **kwargs)
    text = str(info.value)
    assert "\n" not in text, "feedback is one line"
    return text


def rel_error(x, y):
    """The assignment's relative error: |x - y| / (|x| + |y|) (gradient_check.rel_error)."""
    return np.abs(x - y) / np.maximum(1e-300, np.abs(x) + np.abs(y))


# -- check_array ---------------------------------------------------------------------------------

def test_none_suggests_a_missing_return():
    text = message(check_array, "dx", None, np.zeros(3))
    assert text.startswith("dx:") and "None" in text and "return" in text


def test_list_instead_of_array_names_the_type_and_expected_shape():
    text = message(check_array, "out", [1.0, 2.0], np.zeros((2,)))
    assert text.startswith("out:") and "list" in text and "(2,)" in text and "NumPy array" in text


def test_shape_mismatch_says_both_shapes():
    text = message(check_array, "db", np.zeros((1, 3)), np.zeros(3))
    assert text == "db has shape (1, 3); expected (3,)"


def test_transposed_shape_is_reported_even_with_equal_size():
    text = message(check_array, "dw", np.zeros((4, 2)), np.zeros((2, 4)))
    assert "(4, 2)" in text and "(2, 4)" in text and "shape" in text


def test_dtype_mismatch_names_both_dtypes():
    text = message(check_array, "out", np.zeros(3, np.float32), np.zeros(3))
    assert text.startswith("out has dtype float32") and "float64" in text


def test_dtype_is_ignored_when_not_checked():
    check_array("out", np.ones(3, np.float32), np.ones(3), dtype=False)


def test_complex_output_is_refused_even_without_dtype_check():
    text = message(check_array, "out", np.ones(2, complex), np.ones(2), dtype=False)
    assert "complex128" in text and "real" in text


def test_nan_and_inf_are_counted_with_the_first_index():
    got = np.zeros((3, 4))
    got[1, 2] = np.nan
    got[2, 0] = np.nan
    got[2, 3] = np.inf
    got[0, 3] = -np.inf
    text = message(check_array, "dx", got, np.zeros((3, 4)))
    assert "2 NaN" in text and "2 infinite" in text
    assert "first at index (0, 3)" in text  # row-major order: (0, 3) comes before (1, 2)


def test_worst_element_is_the_largest_relative_error_not_the_largest_difference():
    expected = np.array([[100.0, 1.0, 2.0], [3.0, 4.0, 5.0]])
    got = expected.copy()
    got[0, 0] = 101.0  # absolute error 1, relative 1/201
    got[1, 1] = 5.0    # absolute error 1, relative 1/9: the worst
    got[0, 2] = 2.2    # absolute error 0.2, relative 0.2/4.2
    text = message(check_array, "out", got, expected, rtol=1e-3)
    worst = rel_error(got, expected).max()
    assert worst == pytest.approx(1 / 9)
    assert f"max relative error {worst:.2e}" in text
    assert "at index (1, 1)" in text
    assert "got 5," in text and "expected 4)" in text
    assert "tolerance 0.001" in text


def test_values_within_tolerance_pass():
    expected = np.linspace(-3, 3, 12).reshape(3, 4)
    check_array("out", expected * (1 + 5e-7), expected, rtol=1e-6)
    check_array("out", expected + 1e-10, expected, rtol=0, atol=1e-9)


def test_values_just_outside_tolerance_fail():
    expected = np.linspace(1, 3, 12).reshape(3, 4)
    text = message(check_array, "out", expected * (1 + 1e-5), expected, rtol=1e-6)
    assert "differs from the reference" in text and "tolerance 1e-06" in text


def test_integer_and_bool_outputs_compare_by_value():
    check_array("mask", np.array([True, False]), np.array([True, False]))
    message(check_array, "idx", np.array([1, 2]), np.array([1, 3]))


def test_handle_is_reported_as_an_object_the_grader_cannot_inspect():
    text = message(check_array, "out", Handle(1, "tuple"), np.zeros(2))
    assert "cannot inspect" in text and "tuple" in text


# -- check_scalar --------------------------------------------------------------------------------

@pytest.mark.parametrize("got", [2.5, np.float64(2.5), np.float32(2.5), np.array(2.5), 2,
                                 np.int64(2), np.array([2.5])],
                         ids=["float", "np.float64", "np.float32", "0-d array", "int", "np.int64",
                              "1-element array"])
def test_scalar_forms_are_accepted(got):
    check_scalar("loss", got, float(np.asarray(got).item()))


@pytest.mark.parametrize("got", [2.5, np.float64(2.5), np.array(2.5)],
                         ids=["float", "np.float64", "0-d array"])
def test_wrong_scalar_reports_got_expected_and_tolerance(got):
    text = message(check_scalar, "loss", got, 2.0)
    assert text.startswith("loss differs from the reference")
    assert f"{rel_error(2.5, 2.0):.2e}" in text
    assert "got 2.5" in text and "expected 2" in text and "tolerance 1e-06" in text
    assert "index" not in text


@pytest.mark.parametrize("got,word", [(float("nan"), "nan"), (np.float64(np.inf), "inf"),
                                      (np.array(-np.inf), "-inf")])
def test_non_finite_scalar_is_named(got, word):
    text = message(check_scalar, "loss", got, 1.5)
    assert text == f"loss is {word} (expected 1.5)"


@pytest.mark.parametrize("got,kind", [(None, "NoneType"), ([1.0], "list"), ("1.0", "str"),
                                      (True, "bool"), (np.zeros(2), "shape (2,)")])
def test_non_numbers_are_refused_with_their_type(got, kind):
    text = message(check_scalar, "loss", got, 1.0)
    assert text.startswith("loss: expected a number") and kind in text


def test_handle_as_scalar_cannot_be_inspected():
    text = message(check_scalar, "loss", Handle(2, "Decimal"), 1.0)
    assert "cannot inspect" in text and "Decimal" in text


# -- expect_tuple --------------------------------------------------------------------------------

def test_tuple_of_the_right_length_is_returned():
    assert expect_tuple((1, 2, 3), ("dx", "dw", "db"), "affine_backward") == (1, 2, 3)
    assert expect_tuple([1, 2], ("loss", "dx"), "svm_loss") == (1, 2)


def test_single_name_wraps_the_value():
    arr = np.ones(2)
    got = expect_tuple(arr, ("dx",), "relu_backward")
    assert len(got) == 1 and got[0] is arr


def test_wrong_number_of_values_names_the_function_and_expected_names():
    text = message(expect_tuple, (1, 2), ("dx", "dw", "db"), "affine_backward")
    assert text == "affine_backward returned 2 values; expected 3: (dx, dw, db)"


@pytest.mark.parametrize("value,kind", [(np.zeros(3), "an array of shape (3,)"),
                                        (None, "a NoneType"), (1.5, "a float"),
                                        (Handle(4, "generator"), "cannot inspect (generator)")])
def test_not_a_tuple_names_what_was_returned(value, kind):
    text = message(expect_tuple, value, ("loss", "dx"), "softmax_loss")
    assert text.startswith("softmax_loss returned") and kind in text
    assert "expected a tuple (loss, dx)" in text
