"""How Tables 3-6 are shown: the display columns (ours beside the paper, shares, flags), LaTeX
and the HTML page of a Markdown table."""


from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from edaffect.io import atomic
from edaffect.reporting.table_spec import (
    CEILING_SOURCE,
    DIMENSIONS,
    PAPER_METRICS,
    REFERENCES,
    SHORT,
    SINGLE_CLASS_MARK,
    columns,
    is_missing,
    single_class_cell,
)


def _fmt_ours(mean, std, digits: int = 1) -> str:
    if is_missing(mean):
        return "—"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def _fmt_num(value, digits: int = 2) -> str:
    if is_missing(value) or value == "":
        return "—"
    return f"{float(value):.{digits}f}"


def _fmt_share(source, share, majority) -> str:
    """A model row's share of the ceiling in percent; the ceiling row names its majority."""
    if source == CEILING_SOURCE:
        return "—" if is_missing(majority) else f"ceiling (majority {majority:.1f})"
    if is_missing(share):
        return "—"
    return f"{round(100.0 * share):d} %"  # an int: never "-0 %"


def display_table(table: str, numeric: pd.DataFrame) -> pd.DataFrame:
    """Human-readable version of `build_result_table` (what the .md and .tex show)."""
    out = pd.DataFrame()
    out["Method (paper)"] = numeric["paper_method"]
    if table == "table4":
        out["Depth"] = numeric["depth"]
        out["Channels"] = numeric["channels"]
    else:
        out["Dataset"] = numeric["paper_dataset"]
        if table in ("table3", "table6"):
            out["Subset"] = numeric["paper_subset"]
            out["Input"] = numeric["paper_input"]
        if table == "table5":
            out["Modules"] = numeric["modules"]
    if table == "table6":
        out["Source"] = numeric["source"]
    out["Subjects (ours/paper)"] = [
        f"{_fmt_num(ours, 0)}/{'—' if is_missing(paper) or paper == '' else paper}"
        for ours, paper in columns(numeric, "valence_n_subjects", "paper_subjects")
    ]
    out["Experiment"] = numeric["experiment"]
    for dim in DIMENSIONS:
        for metric in PAPER_METRICS:
            label = f"{SHORT[dim]} {SHORT[metric]}"
            stem = f"{dim}_{metric}"
            out[f"{label} ours"] = [
                _fmt_ours(m, s) for m, s in columns(numeric, f"{stem}_mean", f"{stem}_std")
            ]
            out[f"{label} paper"] = [_fmt_num(v) for (v,) in columns(numeric, f"{stem}_paper")]
    for dim in DIMENSIONS:
        out[f"{SHORT[dim]} single-class folds"] = [
            single_class_cell(k, n)
            for k, n in columns(numeric, f"{dim}_single_class_folds", f"{dim}_single_class_known")
        ]
    if "valence_share_of_ceiling" in numeric:  # the table prints the ceiling (add_ceiling)
        for dim in DIMENSIONS:
            out[f"{SHORT[dim]} share of ceiling"] = [
                _fmt_share(source, share, majority)
                for source, share, majority in columns(
                    numeric, "source", f"{dim}_share_of_ceiling", f"{dim}_majority_mean"
                )
            ]
    flagged = [
        any(bool(f) for f in flags if not is_missing(f))
        for flags in columns(numeric, *(f"{dim}_single_class_flag" for dim in DIMENSIONS))
    ]
    out["Method (paper)"] = [
        f"{SINGLE_CLASS_MARK} {method}" if flag else method
        for method, flag in zip(out["Method (paper)"], flagged, strict=True)
    ]
    if table == "table4":
        out["Parameters"] = [
            "—" if is_missing(v) else f"{int(round(v)):,}"
            for (v,) in columns(numeric, "valence_n_parameters")
        ]
        for dim in DIMENSIONS:
            stem = f"{dim}_seconds_per_epoch"
            out[f"s/epoch ({SHORT[dim]})"] = [
                _fmt_ours(m, s, 2) for m, s in columns(numeric, f"{stem}_mean", f"{stem}_std")
            ]
        out["Device"] = numeric["valence_device"]
    if table in REFERENCES:
        ref_name = REFERENCES[table][0]
        for dim in DIMENSIONS:
            for metric in PAPER_METRICS:
                column = f"{dim}_{metric}_vs_ref_note"
                label = f"{SHORT[dim]} Δ{SHORT[metric]} vs {ref_name} [95% CI]"
                out[label] = numeric[column].fillna("—") if column in numeric else "—"
    return out.fillna("—")



_TEX = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "_": r"\_", "#": r"\#", "$": r"\$",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "±": r"$\pm$", "Δ": r"$\Delta$", "−": "-", "—": "--", "≤": r"$\leq$",
    SINGLE_CLASS_MARK: r"$\triangle$",
}
_TEX_PATTERN = re.compile("|".join(re.escape(k) for k in _TEX))


def _tex_escape(text) -> str:
    """LaTeX-safe text in one pass (so an escape is never escaped again)."""
    return _TEX_PATTERN.sub(lambda m: _TEX[m.group()], str(text))


def to_latex(frame: pd.DataFrame, header: str) -> str:
    """A LaTeX table (needs booktabs and graphicx), the data line as its caption."""
    lines = [f"% {header}", "% needs \\usepackage{booktabs,graphicx}", r"\begin{table}",
             r"\centering", r"\small"]
    lines.append(rf"\caption{{{_tex_escape(header.replace('**', ''))}}}")
    lines.append(r"\resizebox{\textwidth}{!}{%")
    lines.append(r"\begin{tabular}{" + "l" * len(frame.columns) + "}")
    lines.append(r"\toprule")
    lines.append(" & ".join(_tex_escape(c) for c in frame.columns) + r" \\")
    lines.append(r"\midrule")
    for _, row in frame.iterrows():
        lines.append(" & ".join(_tex_escape(v) for v in row) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}}", r"\end{table}", ""]
    return "\n".join(lines)



def markdown_table_html(md_path: str | Path, html_path: str | Path, title: str) -> None:
    """A results/tables/*.md file (text lines + one pipe table) as a standalone HTML page, so the
    Snakemake report shows the table itself rather than a download link."""
    import html

    text_lines, header, body = [], None, []
    for line in Path(md_path).read_text().splitlines():
        if line.startswith("|"):
            cells = [html.escape(c.strip()) for c in line.strip().strip("|").split("|")]
            if header is None:
                header = cells
            elif not all(set(c) <= set(":-") for c in cells):
                body.append(cells)
        elif line.strip():
            text_lines.append(html.escape(line.strip().replace("**", "")))
    if header is None:
        raise ValueError(f"{md_path}: no Markdown table found")
    rows = "\n".join(
        ('<tr class="single-class">' if any(SINGLE_CLASS_MARK in c for c in r) else "<tr>")
        + "".join(f"<td>{c}</td>" for c in r) + "</tr>"
        for r in body
    )
    page = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;font-size:13px}} table{{border-collapse:collapse}}
td,th{{border:1px solid #bbb;padding:2px 6px;white-space:nowrap}} th{{background:#eee}}
tr:nth-child(even){{background:#f7f7f7}}
tr.single-class td{{background:#fde2e2}}</style></head><body>
<h3>{html.escape(title)}</h3>
{"".join(f"<p>{t}</p>" for t in text_lines)}
<table><thead><tr>{"".join(f"<th>{c}</th>" for c in header)}</tr></thead>
<tbody>
{rows}
</tbody></table></body></html>
"""
    Path(html_path).parent.mkdir(parents=True, exist_ok=True)
    atomic.write_text(html_path, page)
