"""Every plugin folder is installed under the core package (``codecs`` shadows the stdlib name)."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_plugin_subpackage_is_listed_for_wheels():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    packages, package_dir = set(config["packages"]), config["package-dir"]
    for folder in ("codecs", "channels", "metrics", "datasets"):
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT).as_posix().replace("/", ".")
            name = "testbed." + rel
            assert name in packages, f"{name} is missing from [tool.setuptools] packages"
        assert package_dir[f"testbed.{folder}"] == folder
    for init in (ROOT / "testbed").rglob("__init__.py"):
        name = init.parent.relative_to(ROOT).as_posix().replace("/", ".")
        assert name in packages, f"{name} is missing from [tool.setuptools] packages"
    assert package_dir["testbed.experiments"] == "experiments"
    assert "**/*.yaml" in config["package-data"]["testbed.experiments"]


def test_plugins_import_as_testbed_subpackages_not_the_stdlib():
    import codecs as stdlib_codecs

    import testbed.codecs

    assert hasattr(stdlib_codecs, "encode")
    assert Path(testbed.codecs.__file__).parent == ROOT / "codecs"
