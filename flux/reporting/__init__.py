"""Reports built from the journal: figures as pandas frames (``frames``), rendered four ways
(JSON, CSV, XLSX, PDF) by renderers that never compute a figure (design.md §1)."""
