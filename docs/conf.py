"""Sphinx configuration: Markdown pages (myst-parser) and numpydoc docstrings."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pyod_dsnf import __version__

project = "pyod-dsnf"
author = "pyod-dsnf developers"
copyright = "pyod-dsnf developers"
release = __version__
version = __version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]

myst_heading_anchors = 3
myst_enable_extensions = ["dollarmath"]

autodoc_default_options = {
    "members": True,
    "member-order": "bysource",
    # scikit-learn's metadata-routing helpers, generated per class; their docstrings
    # point into scikit-learn's own docs.
    "exclude-members": "set_fit_request, set_score_request, set_predict_request, "
    "set_decision_function_request, set_score_samples_request, set_predict_proba_request",
}
autodoc_typehints = "none"  # the numpydoc sections carry the types
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

html_theme = "alabaster"
html_title = f"pyod-dsnf {release}"
