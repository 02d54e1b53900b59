"""A CRF output layer for NER (`model.crf: true`): its parameters, its training loss, and where they are saved.

The layer is a submodule (`model.crf`) of the transformers model, so the Trainer optimizes, checkpoints and resumes
its scores with the encoder's; the token-classification head keeps producing the emissions. The loss is the CRF's
negative log-likelihood of each window's gold tags over its *labelled* positions only (labels of -100, i.e. special
tokens and, at word granularity, the non-first subwords, are skipped), so the sequence the CRF sees is the sequence
of units that inference decodes. Transitions that BIO forbids (tasks/ner/crf.py) are excluded from the partition
function; the start rule is not, since a training window may open inside an entity (inference, which decodes whole
documents, applies it). At the final save the scores go to crf.safetensors, out of model.safetensors.
"""

from __future__ import annotations

import torch

from ..tasks.ner.crf import FORBIDDEN, CrfParams, allowed_transitions

CRF_ATTRIBUTE = "crf"


class CrfLayer(torch.nn.Module):
    """Transition, start and end scores, zero at first: training starts from plain BIO-constrained decoding."""

    def __init__(self, labels: list[str]):
        super().__init__()
        n = len(labels)
        self.transitions = torch.nn.Parameter(torch.zeros(n, n))
        self.start = torch.nn.Parameter(torch.zeros(n))
        self.end = torch.nn.Parameter(torch.zeros(n))
        self.register_buffer("allowed", torch.from_numpy(allowed_transitions(labels)), persistent=False)

    def params(self) -> CrfParams:
        """The scores as numpy arrays, for the codec's Viterbi and for crf.safetensors."""
        return CrfParams(*(p.detach().float().cpu().numpy().copy() for p in (self.transitions, self.start, self.end)))

    def nll(self, emissions: torch.Tensor, tags: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood per sequence of (batch, length, n) `emissions` and (batch, length) `tags`, over
        the positions whose tag is not -100 (taken in order, the others skipped)."""
        labelled = tags != -100
        # Pack each row's labelled positions to the left, in order: a stable sort puts them first.
        order = torch.sort((~labelled).to(torch.int8), dim=1, stable=True).indices
        lengths = labelled.sum(dim=1)
        mask = torch.arange(tags.shape[1], device=tags.device)[None, :] < lengths[:, None]
        emissions = emissions.float().gather(1, order[:, :, None].expand(-1, -1, emissions.shape[-1]))
        tags = tags.gather(1, order).masked_fill(~mask, 0)
        width = int(lengths.max()) if len(lengths) else 0
        if width == 0:
            return emissions.new_zeros(tags.shape[0])
        emissions, tags, mask = emissions[:, :width], tags[:, :width], mask[:, :width]
        return self._log_partition(emissions, mask) - self._gold_score(emissions, tags, mask)

    def _transitions(self) -> torch.Tensor:
        return self.transitions.float().masked_fill(~self.allowed, FORBIDDEN)

    def _log_partition(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        transitions = self._transitions()
        alpha = self.start.float()[None, :] + emissions[:, 0]
        for t in range(1, emissions.shape[1]):
            step = torch.logsumexp(alpha[:, :, None] + transitions[None], dim=1) + emissions[:, t]
            alpha = torch.where(mask[:, t, None], step, alpha)
        total = torch.logsumexp(alpha + self.end.float()[None, :], dim=1)
        return total.masked_fill(~mask[:, 0], 0.0)

    def _gold_score(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        transitions = self._transitions()
        weights = mask.float()
        score = self.start.float()[tags[:, 0]] + (emissions.gather(2, tags[:, :, None])[..., 0] * weights).sum(1)
        score = score + (transitions[tags[:, :-1], tags[:, 1:]] * weights[:, 1:]).sum(1)
        last = tags.gather(1, (mask.sum(1, keepdim=True) - 1).clamp(min=0))[:, 0]
        score = score + self.end.float()[last]
        return score.masked_fill(~mask[:, 0], 0.0)


def attach_crf(model: torch.nn.Module, labels: list[str]) -> CrfLayer:
    layer = CrfLayer(labels)
    setattr(model, CRF_ATTRIBUTE, layer)
    return layer


def crf_of(model: torch.nn.Module) -> CrfLayer | None:
    layer = getattr(model, CRF_ATTRIBUTE, None)
    return layer if isinstance(layer, CrfLayer) else None


def crf_loss(layer: CrfLayer):
    """The CRF's negative log-likelihood summed over the step's windows and divided by `num_items_in_batch` (the
    labelled positions of the whole step across all processes), as `class_weighted_loss` does for cross-entropy,
    so that torchrun and gradient accumulation stay exact."""

    def loss(outputs, labels_, num_items_in_batch=None):
        logits = outputs["logits"]
        with torch.autocast(device_type=logits.device.type, enabled=False):  # sums of scores stay in fp32
            nll = layer.nll(logits, labels_)
        if num_items_in_batch is None:
            return nll.sum() / (labels_ != -100).sum().clamp(min=1)
        return nll.sum() / num_items_in_batch

    return loss
