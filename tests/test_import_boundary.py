"""The core imports no plugin: codecs, channels, metrics and datasets are reached only through the
config catalogue (``instantiate``) and the base classes of ``testbed.core``."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLUGIN_PACKAGES = ("testbed.codecs", "testbed.channels", "testbed.metrics", "testbed.datasets")


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """``(line, module)`` of every import statement in a file, relative ones resolved."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            found += [(node.lineno, f"{base}.{alias.name}" if base in ("testbed",) else base) for alias in node.names]
    return found


def test_no_core_module_imports_a_plugin_package():
    offenders = []
    for path in sorted((ROOT / "testbed").rglob("*.py")):
        for line, module in imported_modules(path):
            if module.startswith(PLUGIN_PACKAGES):
                offenders.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert not offenders, "the core imports plugins:\n" + "\n".join(offenders)


def test_the_walk_sees_imports_of_every_form(tmp_path):
    """The check can fail: plain, from, relative and function-level imports are all seen."""
    sample = ROOT / "testbed" / "core" / "_boundary_probe.py"
    sample.write_text("import testbed.codecs.uncoded\nfrom testbed.metrics import psnr\n"
                      "def f():\n    from testbed.channels.awgn import AWGNChannel\n"
                      "from testbed import datasets\n")
    try:
        modules = [m for _, m in imported_modules(sample)]
    finally:
        sample.unlink()
    assert all(any(m.startswith(p) for m in modules) for p in PLUGIN_PACKAGES), modules
