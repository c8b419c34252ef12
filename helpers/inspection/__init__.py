"""Looking inside a trained translator, as derived in `06_inspecting_attention`.

Three questions, one module each, plus the notebook's widget:

- ``recording``: **where does each head look?** ``recording_attention`` and
  ``attention_maps`` record every attention map (``AttentionMaps``) without changing the
  model's outputs; ``attention_entropy`` and ``attention_mass`` summarise a head.
- ``alignment``: **does cross-attention align words?** ``cross_attention_maps`` and
  ``over_words`` read the weights between target and source words; ``argmax_alignment`` and
  ``threshold_alignment`` turn them into links, which ``alignment_counts`` and
  ``alignment_scores`` score against gold links (precision, recall, AER).
- ``ablation``: **does the model need it?** ``ablated_heads`` zeroes chosen heads, listed
  by ``heads_of``.
- ``sentence``: ``inspect_sentence`` translates one typed sentence and records its maps.

The figures (``alignment_heatmap``, ``layer_head_heatmap``) live in ``helpers.plotting``.
"""

from helpers.inspection.ablation import ablated_heads, heads_of
from helpers.inspection.alignment import (
    AlignmentCounts,
    alignment_counts,
    alignment_links,
    alignment_matrix,
    alignment_scores,
    argmax_alignment,
    cross_attention_maps,
    over_words,
    threshold_alignment,
)
from helpers.inspection.recording import (
    PARTS,
    AttentionMaps,
    attention_entropy,
    attention_maps,
    attention_mass,
    recording_attention,
)
from helpers.inspection.sentence import SentenceInspection, inspect_sentence

__all__ = [
    "PARTS",
    "AlignmentCounts",
    "AttentionMaps",
    "SentenceInspection",
    "ablated_heads",
    "alignment_counts",
    "alignment_links",
    "alignment_matrix",
    "alignment_scores",
    "argmax_alignment",
    "attention_entropy",
    "attention_maps",
    "attention_mass",
    "cross_attention_maps",
    "heads_of",
    "inspect_sentence",
    "over_words",
    "recording_attention",
    "threshold_alignment",
]
