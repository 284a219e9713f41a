# Reporting: the paper's Tables 3-6 (ours beside the published values, fold-paired tests),
# Fig. 4 (subject-incremental curves), Figs. 5-8 (Grad-CAM-1D of trained R_b, R_d, R_e) and the
# HTML report (`snakemake --report results/report.html`).  Package code:
# edaffect.reporting.result_tables, .statistics, .figures and edaffect.models.gradcam.
# A table target needs only its own rows' training runs: inputs come from table_metrics(table).


report: "../report/workflow.rst"


include: "reporting_inputs.smk"


ALL_TARGETS.extend(
    expand("results/tables/table{n}.{ext}", n=RESULT_TABLES, ext=["csv", "md", "tex"])
    + expand("results/report/table{n}.html", n=REPORT_TABLES)
    + (expand("results/figures/fig4.{ext}", ext=["png", "pdf"]) if HAS_FIG4 else [])
    + (expand("results/figures/fig{n}.{ext}", n=[5, 6, 7, 8], ext=["png", "pdf"]) * HAS_GRADCAM)
)


rule table3:
    input:
        metrics=table_metrics("table3"),
        predictions=table_predictions("table3"),
        ceilings=table_ceilings("table3"),
    output:
        csv="results/tables/table3.csv",
        md="results/tables/table3.md",
        tex="results/tables/table3.tex",
    params:
        table="table3",
        config=PROVENANCE_CONFIG,
        experiments=report_experiments(),
    conda:
        "../envs/edaffect.yaml"
    log:
        "results/logs/table3/table3.log",
    script:
        "../workflow_scripts/result_table.py"


use rule table3 as table4 with:
    input:
        metrics=table_metrics("table4"),
        predictions=table_predictions("table4"),
        ceilings=table_ceilings("table4"),
    output:
        csv="results/tables/table4.csv",
        md="results/tables/table4.md",
        tex="results/tables/table4.tex",
    params:
        table="table4",
        config=PROVENANCE_CONFIG,
        experiments=report_experiments(),
    log:
        "results/logs/table4/table4.log",


use rule table3 as table5 with:
    input:
        metrics=table_metrics("table5"),
        predictions=table_predictions("table5"),
        ceilings=table_ceilings("table5"),
    output:
        csv="results/tables/table5.csv",
        md="results/tables/table5.md",
        tex="results/tables/table5.tex",
    params:
        table="table5",
        config=PROVENANCE_CONFIG,
        experiments=report_experiments(),
    log:
        "results/logs/table5/table5.log",


use rule table3 as table6 with:
    input:
        metrics=table_metrics("table6"),
        predictions=table_predictions("table6"),
        ceilings=table_ceilings("table6"),
    output:
        csv="results/tables/table6.csv",
        md="results/tables/table6.md",
        tex="results/tables/table6.tex",
    params:
        table="table6",
        config=PROVENANCE_CONFIG,
        experiments=report_experiments(),
    log:
        "results/logs/table6/table6.log",


# One HTML page per table (1-6) so that the report shows the table itself with its caption.
for _n in REPORT_TABLES:

    rule:
        name:
            f"report_table{_n}"
        input:
            md=f"results/tables/table{_n}.md",
        output:
            html=report(
                f"results/report/table{_n}.html",
                caption=f"../report/table{_n}.rst",
                category="Tables",
                labels={"table": f"Table {_n}"},
            ),
        params:
            title=f"Table {_n}",
        conda:
            "../envs/edaffect.yaml"
        log:
            f"results/logs/report_table/table{_n}.log",
        script:
            "../workflow_scripts/table_html.py"


rule fig4:
    input:
        metrics=fig4_metrics,
    output:
        png=report(
            "results/figures/fig4.png",
            caption="../report/fig4.rst",
            category="Figures",
            labels={"figure": "Fig. 4"},
        ),
        pdf="results/figures/fig4.pdf",
    params:
        rows=incremental_experiments(),
        config=PROVENANCE_CONFIG,
        experiments=report_experiments(),
    conda:
        "../envs/edaffect.yaml"
    log:
        "results/logs/fig4/fig4.log",
    script:
        "../workflow_scripts/fig4.py"


rule gradcam_valence:
    input:
        **gradcam_inputs("valence"),
    output:
        curves_png=report(
            "results/figures/fig5.png",
            caption="../report/fig5.rst",
            category="Figures",
            labels={"figure": "Fig. 5"},
        ),
        curves_pdf="results/figures/fig5.pdf",
        spectrogram_png=report(
            "results/figures/fig6.png",
            caption="../report/fig6.rst",
            category="Figures",
            labels={"figure": "Fig. 6"},
        ),
        spectrogram_pdf="results/figures/fig6.pdf",
    params:
        dimension="valence",
        dataset=GRADCAM_DATASET,
        experiments=GRADCAM_EXPERIMENTS,
        fold=GRADCAM_FOLD,
        crop_s=float(config["preprocessing"]["crop_s"]),
        config=PROVENANCE_CONFIG,
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/edaffect.yaml"
    log:
        "results/logs/gradcam/valence.log",
    benchmark:
        "results/benchmarks/gradcam/valence.tsv"
    script:
        "../workflow_scripts/gradcam_figures.py"


use rule gradcam_valence as gradcam_arousal with:
    input:
        **gradcam_inputs("arousal"),
    output:
        curves_png=report(
            "results/figures/fig7.png",
            caption="../report/fig7.rst",
            category="Figures",
            labels={"figure": "Fig. 7"},
        ),
        curves_pdf="results/figures/fig7.pdf",
        spectrogram_png=report(
            "results/figures/fig8.png",
            caption="../report/fig8.rst",
            category="Figures",
            labels={"figure": "Fig. 8"},
        ),
        spectrogram_pdf="results/figures/fig8.pdf",
    params:
        dimension="arousal",
        dataset=GRADCAM_DATASET,
        experiments=GRADCAM_EXPERIMENTS,
        fold=GRADCAM_FOLD,
        crop_s=float(config["preprocessing"]["crop_s"]),
        config=PROVENANCE_CONFIG,
    log:
        "results/logs/gradcam/arousal.log",
    benchmark:
        "results/benchmarks/gradcam/arousal.tsv"
