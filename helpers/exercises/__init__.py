"""Exercise checkers: ``check_<exercise>(your_function)``, one module per notebook.

Each checker runs your function on its own test cases. A correct solution prints one
short success line; a wrong one raises ``AssertionError`` naming the likely mistake and a
hint (see :mod:`helpers.exercises.checking`).
"""

from helpers.exercises.beyond_translation import (
    check_patchify,
    check_predicted_masking,
    check_top_k_distribution,
)
from helpers.exercises.checking import Case, Checker, Mistake
from helpers.exercises.dot_products_qkv import (
    check_cosine_similarity,
    check_describing_words,
    check_predicted_scores,
    check_score_matrix,
    check_soft_lookup,
)
from helpers.exercises.efficient_attention import (
    check_chunk_band,
    check_merge_partials,
    check_predicted_peak,
)
from helpers.exercises.inspecting_attention import (
    check_alignment_error_rate,
    check_argmax_alignment,
    check_predicted_baseline_aer,
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
    check_beam_step,
    check_greedy_decode,
    check_inverse_sqrt_lr,
    check_label_smoothed_loss,
)
from helpers.exercises.transformer import check_decoder_layer, check_sinusoidal_encoding
from helpers.exercises.why_attention import (
    check_best_possible_accuracy,
    check_dot_attention,
    check_layers_to_connect,
)

__all__ = [
    "Case",
    "Checker",
    "Mistake",
    "check_alignment_error_rate",
    "check_argmax_alignment",
    "check_beam_step",
    "check_best_possible_accuracy",
    "check_causal_mask",
    "check_chunk_band",
    "check_cosine_similarity",
    "check_decoder_layer",
    "check_describing_words",
    "check_dot_attention",
    "check_greedy_decode",
    "check_inverse_sqrt_lr",
    "check_label_smoothed_loss",
    "check_layers_to_connect",
    "check_merge_heads",
    "check_merge_partials",
    "check_multi_head_attention",
    "check_patchify",
    "check_predicted_baseline_aer",
    "check_predicted_masking",
    "check_predicted_peak",
    "check_predicted_rank",
    "check_predicted_scores",
    "check_predicted_weights",
    "check_scaled_dot_product_attention",
    "check_score_matrix",
    "check_sinusoidal_encoding",
    "check_soft_lookup",
    "check_split_heads",
    "check_stable_softmax",
    "check_top_k_distribution",
]
