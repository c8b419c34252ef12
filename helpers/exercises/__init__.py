"""Exercise checkers: ``check_<exercise>(your_function)``, one module per notebook.

Each checker runs your function on its own test cases. A correct solution prints one
short success line; a wrong one raises ``AssertionError`` naming the likely mistake and a
hint (see :mod:`helpers.exercises.checking`).
"""

from helpers.exercises.checking import Case, Checker, Mistake
from helpers.exercises.dot_products_qkv import (
    check_cosine_similarity,
    check_describing_words,
    check_predicted_scores,
    check_score_matrix,
    check_soft_lookup,
)
from helpers.exercises.inspecting_attention import (
    check_alignment_error_rate,
    check_argmax_alignment,
)
from helpers.exercises.multi_head_attention import (
    check_merge_heads,
    check_multi_head_attention,
    check_predicted_rank,
    check_split_heads,
)
from helpers.exercises.softmax_and_attention import (
    check_causal_mask,
    check_predicted_weights,
    check_scaled_dot_product_attention,
    check_stable_softmax,
)
from helpers.exercises.training_translation import (
    check_greedy_decode,
    check_inverse_sqrt_lr,
    check_label_smoothed_loss,
)
from helpers.exercises.transformer import check_decoder_layer, check_sinusoidal_encoding

__all__ = [
    "Case",
    "Checker",
    "Mistake",
    "check_alignment_error_rate",
    "check_argmax_alignment",
    "check_causal_mask",
    "check_cosine_similarity",
    "check_decoder_layer",
    "check_describing_words",
    "check_greedy_decode",
    "check_inverse_sqrt_lr",
    "check_label_smoothed_loss",
    "check_merge_heads",
    "check_multi_head_attention",
    "check_predicted_rank",
    "check_predicted_scores",
    "check_predicted_weights",
    "check_scaled_dot_product_attention",
    "check_score_matrix",
    "check_sinusoidal_encoding",
    "check_soft_lookup",
    "check_split_heads",
    "check_stable_softmax",
]
