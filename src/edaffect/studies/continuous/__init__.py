"""Continuous emotion on PMEmo's dynamic annotations and refined labels."""
