"""Say what happened when the compiled kernels cannot be imported, and what to do.

The usual cause is running Python from the root of a clone: the unbuilt ``minicnn/`` there
shadows the installed package (scikit-learn and NumPy answer the same situation the same way).
"""

import glob
import os

__all__ = ["raise_build_error"]


def raise_build_error(exc):
    """Raise ImportError explaining ``exc``, a failed import of a compiled module."""
    package = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(package)
    built = glob.glob(os.path.join(package, "_kernels", "_openmp*.so")) + glob.glob(
        os.path.join(package, "_kernels", "_openmp*.pyd"))
    if built:
        advice = (f"The compiled kernels are in {package} but could not be loaded (a missing OpenMP "
                  "runtime such as libgomp or libomp, or a build for another Python or CPU). "
                  "Reinstall minicnn for this Python: pip install --force-reinstall minicnn")
    elif os.path.isfile(os.path.join(root, "setup.py")):
        advice = (f"You are importing minicnn from its source tree ({package}) without built "
                  "extensions: this directory shadows the installed minicnn. Leave the source "
                  f"directory ({root}) to use the installed package (pip install . installs it), "
                  "or build the kernels in place: pip install -e . (or python setup.py build_ext "
                  "--inplace).")
    else:
        advice = (f"The installation in {package} has no compiled kernels: reinstall it "
                  "(pip install --force-reinstall minicnn), or build from a source checkout "
                  "with pip install .")
    raise ImportError(f"minicnn's compiled kernels could not be imported ({exc}).\n{advice}") from exc
