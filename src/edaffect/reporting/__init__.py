"""Paper tables and figures: our computed values beside the published ones."""
