"""Files in and out: atomic writes, rule-script context, the config schema."""
