"""The one pattern of the workflow's rule scripts: send stderr and logging to the rule's log
first, then read Snakemake's injected `snakemake` object through a typed view.

    from edaffect.io.rule_io import rule_context

    smk, log = rule_context(globals())   # stdlib only so far: an import error below is logged

    from edaffect.something import write_it
    write_it(smk.input.x, smk.output.y, **smk.params)
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def log_to_file(log_path: str | Path | None, name: str = "edaffect") -> logging.Logger:
    """Send logging output and stderr of this process to the rule's `log:` file.

    Snakemake's `log:` directive redirects nothing by itself; every rule script calls this first.
    """
    handlers: list[logging.Handler] = []
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        stream = open(log_path, "a", buffering=1)  # noqa: SIM115 - lives as long as the process
        sys.stderr = stream
        handlers.append(logging.StreamHandler(stream))
    else:
        handlers.append(logging.StreamHandler(sys.stderr))
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    logging.captureWarnings(True)
    return logging.getLogger(name)


@dataclass(frozen=True)
class RuleContext:
    """What a rule script reads from Snakemake (named lists keep attribute and index access)."""

    input: Any
    output: Any
    params: Any
    wildcards: Any
    log: Any
    threads: int
    resources: Any
    config: dict

    def paths(self, name: str) -> list[str]:
        """Output `name` as a list (one path per fold in packed rules, one in per-fold rules)."""
        value = getattr(self.output, name)
        return [value] if isinstance(value, str) else list(value)


def rule_context(
    namespace: dict, name: str = "edaffect"
) -> tuple[RuleContext, logging.Logger]:
    """The script's `snakemake` object (from its globals) as a RuleContext, after redirecting
    stderr and logging to the rule's first log file."""
    smk = namespace.get("snakemake")
    if smk is None:
        raise RuntimeError("rule_context: no `snakemake` object (run this script from a rule)")
    log = log_to_file(smk.log[0] if smk.log else None, name)
    context = RuleContext(
        input=smk.input, output=smk.output, params=smk.params, wildcards=smk.wildcards,
        log=smk.log, threads=int(smk.threads), resources=smk.resources, config=smk.config,
    )
    return context, log
