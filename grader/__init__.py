"""LayerLab's grading engine: sandboxed workers, a pytest plugin, comparisons and reports."""
