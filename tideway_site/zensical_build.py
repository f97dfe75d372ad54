"""A version built by Zensical (`tideway-publish --builder zensical`), ready for the gates
and for mike's layout: what the plugin does in a MkDocs build, done around a builder that runs
no MkDocs plugins.

- The theme: Zensical reads one `custom_dir` and does not follow links inside it, so the
  build gets a merged copy, made in a temporary directory: the plugin's theme, then the
  site's own `custom_dir` over it (the writer's files win where both have one). The writer's
  tree is never changed.
- The configuration: a temporary copy of mkdocs.yml beside it (Zensical wants `docs_dir` and
  `site_dir` inside the directory of its config file, as mike's own deploy does for MkDocs),
  naming the merged theme and a temporary output folder, with `extra.version.provider: mike`
  set when missing (the plugin's rule: another provider stops the publish).
- After the build: the widget on the pages whose template lacks it (fill.py) and the
  version's manifest, whose owners and review dates follow the plugin's rule (front matter,
  the owners file, git), so the owners and freshness gates read the same as on MkDocs builds.

The build is not `--strict`: Zensical's strict mode stops on its own warnings, such as anchors
that Material's attribute lists make in a MkDocs build; the links gate checks the built HTML.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from types import SimpleNamespace

import mkdocs.utils
import yaml
from mike.mkdocs_utils import RoundTripLoader
from mkdocs.exceptions import MkDocsException, PluginError

from . import fill, gates, history, manifest
from .branch import PublishError
from .gates import GateResult, Problem
from .inputs import Site
from .owners import OwnersFile, OwnersFileError, read_owners
from .plugin import THEME_DIR, _check_version_provider

BUILDERS = ("mkdocs", "zensical")
GATE_NAME = "zensical build"
# Beside the site's mkdocs.yml while a build runs, removed after it.
TEMP_PREFIX = ".tideway-zensical-"


def zensical() -> str:
    # The console script beside our interpreter, as for mkdocs and mike.
    return str(Path(sys.executable).parent / "zensical")


def builder_identity() -> str:
    """What the inputs hash counts of the builder: a new Zensical may build other pages."""
    try:
        return f"zensical {metadata.version('zensical')}"
    except metadata.PackageNotFoundError:
        return "zensical (not installed)"


def merge_theme(custom_dir: Path | None, dest: Path) -> Path:
    """The plugin's theme with the site's own `custom_dir` copied over it, in `dest`. Files
    are copied, not linked (Zensical does not follow links inside `custom_dir`)."""
    skip = shutil.ignore_patterns("__pycache__")
    shutil.copytree(THEME_DIR, dest, ignore=skip)
    if custom_dir is not None:
        shutil.copytree(custom_dir, dest, ignore=skip, dirs_exist_ok=True)
    return dest


def zensical_config(config_file: Path, theme_dir: Path, site_dir: str) -> str:
    """The site's mkdocs.yml as the build reads it: the merged theme, the temporary output,
    and mike's version provider. Its YAML tags are kept as written (mike's round trip)."""
    with config_file.open("rb") as fh:
        config = mkdocs.utils.yaml_load(fh, loader=RoundTripLoader) or {}
    theme = config.get("theme")
    theme = config["theme"] = {"name": theme} if isinstance(theme, str) else (theme or {})
    theme["custom_dir"] = str(theme_dir)
    config["site_dir"] = site_dir
    extra = config.setdefault("extra", {})
    if not isinstance(extra, dict):
        raise PublishError(f"{config_file}: extra must be a mapping, not {extra!r}.")
    try:
        _check_version_provider(SimpleNamespace(extra=extra))  # the plugin's rule, and words
    except PluginError as exc:
        raise PublishError(f"{config_file}: {exc}") from None
    return yaml.dump(config, sort_keys=False, allow_unicode=True)


@contextmanager
def _beside(config_file: Path):
    """A temporary config file and output folder in the config's directory, gone after."""
    where = config_file.parent
    out = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX + "site-", dir=where))
    fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".yml", dir=where)
    os.close(fd)
    try:
        yield Path(name), out
    finally:
        Path(name).unlink(missing_ok=True)
        shutil.rmtree(out, ignore_errors=True)


def build(
    site: Site, out: Path, env: dict[str, str], version: str, gate_site: gates.Site | None = None
) -> GateResult:
    """Build the site into `out` with Zensical, put the widget where templates left it out,
    and write the version's manifest. The result is the build gate's. `gate_site`: the
    site's configuration as the gates read it, when the caller loaded it already."""
    settings = (gate_site or _gate_site(site)).settings
    result = GateResult(GATE_NAME)
    where = site.config_file.parent
    with (
        tempfile.TemporaryDirectory(prefix="tideway-theme-") as tmp,
        _beside(site.config_file) as (config, built),
    ):
        theme = merge_theme(site.custom_dir, Path(tmp) / "theme")
        config.write_text(zensical_config(site.config_file, theme, built.name), encoding="utf-8")
        try:
            done = subprocess.run(
                [zensical(), "build", "--clean", "--config-file", str(config)],
                cwd=where, env=env, capture_output=True, text=True,
            )  # fmt: skip
        except FileNotFoundError:
            raise PublishError(
                "--builder zensical needs Zensical in the environment that runs "
                "tideway-publish: pip install zensical"
            ) from None
        if done.returncode != 0:
            lines = [ln for ln in (done.stderr + done.stdout).splitlines() if ln.strip()]
            result.problems = [Problem(_rel(site.config_file, where), ln) for ln in lines[-8:]]
            return result
        shutil.move(built, out)
    # A page the widget could not go on is a warning, as the plugin's in a strict build.
    filled = fill.fill_site(out, site.docs_dir)
    result.problems = [Problem(_rel(site.config_file, where), m) for m in filled.messages()]
    result.warn_only = bool(result.problems) and "build" in settings.warn_only
    doc = manifest.manifest_from_site(out, version, site.docs_dir)
    _complete(doc, site, settings)
    manifest.write(out, doc)
    return result


def _rel(path: Path, tree: Path) -> str:
    return Path(os.path.relpath(path, tree)).as_posix()


def _complete(doc: dict, site: Site, settings: gates.GateSettings) -> None:
    """Owners, review dates and last commits by the plugin's rule (history.provenance), which
    Zensical's pages cannot carry: the owners file and git are the plugin's to read."""
    owners = OwnersFile([])
    if settings.owners_file:
        try:
            owners = read_owners(Path(settings.owners_file))
        except OwnersFileError as exc:
            raise PublishError(f"tideway: owners_file: {exc}") from None
    made = {p["src"] for p in doc["pages"] if not (site.docs_dir / p["src"]).is_file()}
    sources = [p["src"] for p in doc["pages"] if p["src"] not in made]
    changes = history.last_changes(site.docs_dir, sources)
    today = dt.date.today().isoformat()
    for page in doc["pages"]:
        generated = page["src"] in made
        meta = {"owner": page["owner"], "reviewed": page["reviewed"]}
        owner, reviewed, change = history.provenance(
            meta, page["src"], generated, owners, changes, today
        )
        page.update(owner=owner, reviewed=reviewed, commit=change.commit if change else "")
        if generated:
            page["generated"] = True  # the gates pass over its owner and freshness


def _gate_site(site: Site, tree: Path | None = None) -> gates.Site:
    try:
        return gates.load_site(tree or site.config_file.parent, site.config_file)
    except (MkDocsException, OSError) as exc:
        raise PublishError(f"{site.config_file}: {exc}") from None


def run_gates(
    tree: Path,
    site: Site,
    out: Path,
    env: dict[str, str],
    ledger: Path,
    today: dt.date | None,
    version: str,
) -> list[GateResult]:
    """The Zensical build, then the gates on the built HTML, as gates.run_gates for MkDocs."""
    gate_site = _gate_site(site, tree)  # loaded once: it imports the site's hooks
    results = [build(site, out, env, version, gate_site)]
    if not (out / manifest.MANIFEST_NAME).exists():
        why = "the build failed"
        return results + [GateResult(gates.GATES[k], skipped=why) for k in list(gates.GATES)[1:]]
    checked = gates.check_site(gate_site, out, ledger, today)
    return results + (checked or [])
