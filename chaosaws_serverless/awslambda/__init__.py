"""Lambda fault injection through a chaos extension layer."""
