"""Network planning: facility location models (the only importer of the solver)."""
