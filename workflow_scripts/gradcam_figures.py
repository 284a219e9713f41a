"""Rules `gradcam_valence`, `gradcam_arousal`: last-fold models -> Figs. 5+6 and 7+8."""

from edaffect.io.rule_io import rule_context

smk, log = rule_context(globals())

from edaffect.reporting.figures import gradcam_figures
from edaffect.reporting.provenance import data_line

params = smk.params
inp = smk.input
out = smk.output
shown = gradcam_figures(
    list(zip(params.experiments, inp.models, strict=True)),
    list(inp.predictions),
    out.curves_png,
    out.curves_pdf,
    out.spectrogram_png,
    out.spectrogram_pdf,
    dimension=params.dimension,
    fold=params.fold,
    fold_inputs={
        "splits_csv": inp.splits,
        "labels_csv": inp.labels,
        "inputs_npy": inp.inputs,
        "inputs_index_csv": inp.index,
        "music_features_csv": inp.get("music"),
    },
    data_line=data_line(dict(params.config), [params.dataset]),
    seed=int(params.config["seed"]),
    trials_csv=inp.trials,
    crop_s=params.crop_s,
)
log.info("Grad-CAM figures: %s", shown)
