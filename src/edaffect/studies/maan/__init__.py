"""The modality-aware attention network study on AMIGOS."""
