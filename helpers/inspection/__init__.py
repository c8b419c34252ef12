"""Looking inside a trained translator, as derived in `06_inspecting_attention`.

Five questions, one module each, plus the notebook's widget:

- ``recording``: **where does each head look?** ``recording_attention`` and
  ``attention_maps`` record every attention map (``AttentionMaps``, exportable to bertviz)
  without changing the model's outputs; ``attention_entropy`` and ``attention_mass``
  summarise a head.
- ``alignment``: **does cross-attention align words?** ``cross_attention_maps`` and
  ``over_words`` read the weights between target and source words (``teacher_forced_maps``
  every kind of attention); ``argmax_alignment`` and ``threshold_alignment`` turn them into
  links, ``diagonal_alignment`` gives the baselines, and ``alignment_counts``,
  ``sentence_counts`` and ``alignment_scores`` score links against gold links (precision,
  recall, AER), graded into sure and possible ones by ``sure_and_possible``.
- ``statistics``: **how sure is a score?** ``bootstrap_interval`` and
  ``paired_bootstrap_interval`` over sentences, with ``bleu_statistics`` and
  ``bleu_from_statistics`` for BLEU.
- ``ablation``: **does the model need it?** ``ablated_heads`` zeroes chosen heads, or sets
  them to their mean output (``mean_head_outputs``), listed by ``heads_of``.
- ``attribution``: **what does an output depend on?** ``leave_one_out`` measures the
  influence of each source word, ``attention_rollout`` and ``source_rollout`` follow
  attention across layers, ``rank_correlation`` compares two maps.
- ``sentence``: ``inspect_sentence`` translates one typed sentence and records its maps.

The figures (``alignment_heatmap``, ``layer_head_heatmap``, ``aer_bars``) live in
``helpers.plotting``.
"""

from helpers.inspection.ablation import ablated_heads, heads_of, mean_head_outputs
from helpers.inspection.alignment import (
    AlignmentCounts,
    alignment_counts,
    alignment_links,
    alignment_matrix,
    alignment_scores,
    argmax_alignment,
    cross_attention_maps,
    diagonal_alignment,
    over_words,
    sentence_counts,
    sure_and_possible,
    teacher_forced_maps,
    threshold_alignment,
)
from helpers.inspection.attribution import (
    attention_rollout,
    leave_one_out,
    rank_correlation,
    source_rollout,
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
from helpers.inspection.statistics import (
    Interval,
    bleu_from_statistics,
    bleu_statistics,
    bootstrap_interval,
    paired_bootstrap_interval,
)

__all__ = [
    "PARTS",
    "AlignmentCounts",
    "AttentionMaps",
    "Interval",
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
    "attention_rollout",
    "bleu_from_statistics",
    "bleu_statistics",
    "bootstrap_interval",
    "cross_attention_maps",
    "diagonal_alignment",
    "heads_of",
    "inspect_sentence",
    "leave_one_out",
    "mean_head_outputs",
    "over_words",
    "paired_bootstrap_interval",
    "rank_correlation",
    "recording_attention",
    "sentence_counts",
    "source_rollout",
    "sure_and_possible",
    "teacher_forced_maps",
    "threshold_alignment",
]
