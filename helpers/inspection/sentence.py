"""Inspecting one typed sentence, as derived in `06_inspecting_attention`.

``inspect_sentence`` translates a sentence greedily and records every attention map of its
translation, with the tokens that label each map's rows and columns: the pure function
behind the notebook's widget. Shapes: H heads, S source length, T target length.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from helpers.decoding import greedy_decode
from helpers.inspection.recording import PARTS, AttentionMaps, attention_maps
from helpers.transformer import Seq2SeqTransformer
from helpers.translation.tokenization import BOS, EOS, Tokenizer

__all__ = ["SentenceInspection", "inspect_sentence"]


@dataclass(frozen=True)
class SentenceInspection:
    """A typed sentence, its greedy translation and the attention maps behind it (B = 1).

    ``source_tokens`` are what the encoder reads (``<unk>`` for unknown words, then
    ``<eos>``), ``decoder_inputs`` what the decoder reads (``<bos>`` + output words) and
    ``outputs`` what each decoder position predicts (output words + ``<eos>``): rows of the
    decoder and cross maps. ``maps`` is None when there was nothing to translate; ``message``
    says why, or which words the model does not know.
    """

    sentence: str
    translation: str
    source_tokens: list[str]
    decoder_inputs: list[str]
    outputs: list[str]
    unknown_words: list[str]
    maps: AttentionMaps | None
    message: str

    def labels(self, part: str) -> tuple[list[str], list[str]]:
        """(query labels, key labels) for the maps of ``part``: the rows of cross-attention
        are labelled with the word each query predicts, the decoder's with its inputs."""
        if part not in PARTS:
            raise ValueError(f"part must be one of {PARTS}; got {part!r}")
        return {
            "encoder": (self.source_tokens, self.source_tokens),
            "decoder": (self.decoder_inputs, self.decoder_inputs),
            "cross": (self.outputs, self.source_tokens),
        }[part]

    def for_bertviz(self) -> dict:
        """Every map with its tokens, as bertviz's ``model_view(**...)`` takes them.

        bertviz labels the rows of decoder and cross-attention alike with the decoder's
        inputs (``decoder_inputs``), not with the words they predict.
        """
        if self.maps is None:
            raise ValueError(f"nothing was translated, so there are no maps: {self.message}")
        return self.maps.for_bertviz(
            0, encoder_tokens=self.source_tokens, decoder_tokens=self.decoder_inputs
        )


def inspect_sentence(
    model: Seq2SeqTransformer,
    src_tokenizer: Tokenizer,
    tgt_tokenizer: Tokenizer,
    sentence: str,
    *,
    max_len: int | None = None,
) -> SentenceInspection:
    """Translate one sentence greedily and record every attention map of its translation.

    The maps come from a teacher-forced pass over the model's own output, which gives the
    same weights as the decoding steps. Unknown words (``WordVocab.unknown_words``) do not
    raise: they are read as ``<unk>`` and named in ``message``.
    """
    if not isinstance(sentence, str):
        raise TypeError(f"sentence must be a str; got {type(sentence).__name__}")
    src_ids = src_tokenizer.encode(sentence)
    if not src_ids:
        return SentenceInspection(
            sentence, "", [], [], [], [], None, "Type an English sentence to translate."
        )
    find_unknown = getattr(src_tokenizer, "unknown_words", None)
    unknown = find_unknown(sentence) if find_unknown is not None else []
    message = ""
    if unknown:
        message = (
            f"Not in the model's source vocabulary ({len(src_tokenizer)} tokens), so read as "
            f"<unk>: {', '.join(unknown)}. Its translation of them is a guess."
        )
    device = next(model.parameters()).device
    src = torch.tensor([src_ids + [src_tokenizer.eos_id]], device=device)
    ids = {"bos_id": tgt_tokenizer.bos_id, "eos_id": tgt_tokenizer.eos_id}
    (output,) = greedy_decode(model, src, pad_id=tgt_tokenizer.pad_id, max_len=max_len, **ids)
    tgt_in = torch.tensor([[tgt_tokenizer.bos_id, *output]], device=device)
    words = [tgt_tokenizer.id_to_token(i) for i in output]
    return SentenceInspection(
        sentence=sentence,
        translation=tgt_tokenizer.decode(output),
        source_tokens=[src_tokenizer.id_to_token(i) for i in src_ids] + [EOS],
        decoder_inputs=[BOS, *words],
        outputs=[*words, EOS],
        unknown_words=unknown,
        maps=attention_maps(model, src, tgt_in),
        message=message,
    )
