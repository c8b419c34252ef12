"""The course's code, in the order the notebooks derive it.

Each lesson module is the polished form of what one notebook builds step by step; open it
beside that notebook. Later notebooks import it instead of copying it.

| module                      | what it holds                                                  | notebook                   |
| --------------------------- | -------------------------------------------------------------- | -------------------------- |
| ``device``                  | ``pick_device``: CUDA, Apple's MPS or the CPU, and why          | `00_start_here`            |
| ``exercises.checking``      | ``Checker``, ``Case``, ``Mistake``: how every exercise is checked | `00_start_here`            |
| ``plotting``                | heatmaps, bar charts and grids the notebooks draw               | `01_dot_products_qkv` on   |
| ``attention``               | softmax, causal and padding masks, scaled dot-product attention, ``SelfAttention`` | `02_softmax_and_attention` |
| ``multi_head_attention``    | ``split_heads``, ``merge_heads``, ``MultiHeadAttention``         | `03_multi_head_attention`  |
| ``positional_encoding``     | sinusoidal and learned position encodings                        | `04_transformer`           |
| ``transformer``             | encoder and decoder layers, ``Transformer``, ``Seq2SeqTransformer`` | `04_transformer`        |
| ``training``                | the label-smoothed loss and the warm-up schedule                 | `05_training_translation`  |
| ``decoding``                | greedy decoding, beam search, ``translate``                       | `05_training_translation`  |
| ``inspection``              | recording attention, alignment and AER against baselines, bootstrap intervals, head ablation, attribution | `06_inspecting_attention` |
| ``recurrence``              | LSTM, CNN and attention on a task of set distance, gradient paths, graph depth and path length, an RNN translator with and without attention | `07_why_attention` |
| ``efficient_attention``     | tiled attention with the online softmax, sliding windows, linear attention, ``peak_memory`` | `08_efficient_attention` |
| ``model_families``          | one self-attention stack as a GPT, a BERT and a ViT; ``patchify``, BERT's masking, top-k sampling with the KV cache, attention maps | `09_beyond_translation` |

Beside the lessons:

| module                      | what it holds                                                  | notebook                   |
| --------------------------- | -------------------------------------------------------------- | -------------------------- |
| ``widgets``                 | the pure functions behind the notebooks' interactive widgets     | `00_start_here` on         |
| ``diagrams``                | diagrams of the mechanism: attention's flow, multi-head attention, the Transformer, the three model families | `02_softmax_and_attention` on |
| ``exercises``               | one checker module per notebook, named after it (``exercises.dot_products_qkv`` …) | `01` to `09` |
| ``translation``             | the machinery of notebooks 05 and 06, used but not derived: data, downloads, tokenizers, batching, checkpoints, BLEU, the training loop and its command line (``python -m helpers.translation``), speed measurements (``speed``) | `05_training_translation` |
| ``miniature``               | the machinery of notebook 09, used but not derived: Tiny Shakespeare and the 8 × 8 digits (vendored, checksum-verified), the sentences for the BERT, the CPU and GPU presets | `09_beyond_translation` |

``_utils`` holds small private utilities (shape descriptions, argument checks). A test
(``tests/test_provenance.py``) keeps this map true: every module named here exists, and every
public name of a lesson module appears in the notebook its docstring names.
"""
