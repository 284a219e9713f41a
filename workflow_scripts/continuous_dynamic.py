"""Rule `continuous_dynamic`: PMEmo's dynamic annotations -> results/pmemo/dynamic.csv, aligned
to each listener's EDA time base (edaffect.datasets.pmemo_dynamic)."""

from edaffect.io.rule_io import rule_context

smk, log = rule_context(globals())

from edaffect.datasets.pmemo_dynamic import write_dynamic

write_dynamic(smk.params.root, smk.input.trials, smk.output.dynamic)
