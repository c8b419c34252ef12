"""The machinery of translation, used in `05_training_translation` and `06_inspecting_attention`.

What those notebooks use but do not derive: data (``data``, ``download``, ``phenomena``), text
to ids (``tokenization``), batches (``batching``), checkpoints and loading a trained translator
(``checkpoint``), BLEU, chrF and the validation loss (``evaluation``), the run's configuration
and presets (``config``), mixed precision, fused attention and ``torch.compile``
(``precision``), the training step and loop (``loop``), and the command line over them (``cli``:
``python -m helpers.translation train``, ``evaluate``, ``average``). Read them for how the
course's runs are organised; the ideas themselves are derived in the notebooks and live in the
top-level lesson modules.
"""
