"""Packaging for autopose, driven by settings.ini (nbdev 2).

nbdev's template setup.py imports pkg_resources, which current setuptools no longer ships;
this version reads settings.ini with configparser alone.
"""
from configparser import ConfigParser
from pathlib import Path

import setuptools

cfg = ConfigParser(delimiters=["="])
cfg.read("settings.ini", encoding="utf-8")
cfg = cfg["DEFAULT"]

licenses = {"apache2": "Apache-2.0"}  # SPDX expression (license classifiers are deprecated)
statuses = ["1 - Planning", "2 - Pre-Alpha", "3 - Alpha", "4 - Beta", "5 - Production/Stable",
            "6 - Mature", "7 - Inactive"]
py_versions = "3.10 3.11 3.12 3.13".split()
lic = licenses[cfg["license"]]
min_python = cfg["min_python"]


def reqs(key):
    return cfg.get(key, "").split()


# Every `<name>_requirements` key of settings.ini is the extra `<name>`; `all` is their union.
extras = {k[:-len("_requirements")]: reqs(k) for k in cfg if k.endswith("_requirements") and k != "requirements"}
extras["all"] = sorted({r for v in extras.values() for r in v})

nbs = sorted(str(p) for p in Path("nbs").glob("[0-9]*.ipynb"))

setuptools.setup(
    name=cfg["lib_name"],
    version=cfg["version"],
    license=lic,
    classifiers=[
        "Development Status :: " + statuses[int(cfg["status"])],
        "Intended Audience :: " + cfg["audience"],
        "Natural Language :: " + cfg["language"],
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ] + ["Programming Language :: Python :: " + v for v in py_versions[py_versions.index(min_python):]],
    url=cfg["git_url"],
    packages=setuptools.find_packages(include=["autopose", "autopose.*"]),
    include_package_data=True,
    install_requires=reqs("requirements"),
    extras_require=extras,
    # The stage notebooks travel with the package so that `autopose run` works from a pip install.
    data_files=[("share/autopose/nbs", nbs), ("share/autopose/data", ["data/refiner.pt", "data/refiner.json", "data/refiner_kinect_v1.pt", "data/refiner_kinect_v1.json"])],
    dependency_links=[],
    python_requires=">=" + min_python,
    long_description=Path("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    zip_safe=False,
    entry_points={"console_scripts": cfg.get("console_scripts", "").split(), "nbdev": ["autopose=autopose._modidx:d"]},
    author=cfg["author"],
    author_email=cfg["author_email"],
    description=cfg["description"],
    keywords=cfg["keywords"],
)
