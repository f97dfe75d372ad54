"""The plugin's templates compiled ahead of time: a build loads their Python code instead of
having Jinja compile them.

Jinja compiles every template a build uses, once per build: for the plugin's theme that was
about 30 ms (the widget's partial alone 16 ms), a percent of a 300-page site's build spent
on templates that are the same in every build. Jinja can generate each template's Python
code ahead of time; `python -m tideway_site.precompiled` writes it into
`precompiled_templates/`, and a test fails when a template changed without it.

A build uses that code only for a template whose source is, byte for byte, the one the code
was made from (a writer's own `partials/feedback.html` is compiled as before), in an
environment that compiles the way the code was made (MkDocs' and Material's settings; one a
plugin changed, say another delimiter, compiles as before). The check is Jinja's own hook,
a bytecode cache, so the loader, the search path and everything else stay Jinja's.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path
from types import CodeType

import jinja2
from jinja2.bccache import Bucket, BytecodeCache

PACKAGE = "tideway_site.precompiled_templates"
OUT_DIR = Path(__file__).resolve().parent / "precompiled_templates"
THEME_DIR = Path(__file__).resolve().parent / "theme"

# What decides the code Jinja generates from a source, besides the source.
SETTINGS = (
    "block_start_string", "block_end_string", "variable_start_string", "variable_end_string",
    "comment_start_string", "comment_end_string", "line_statement_prefix",
    "line_comment_prefix", "trim_blocks", "lstrip_blocks", "newline_sequence",
    "keep_trailing_newline", "optimized", "is_async",
)  # fmt: skip


def settings(env: jinja2.Environment) -> str:
    """The environment's compile settings, as one comparable string."""
    values = [repr(getattr(env, name)) for name in SETTINGS]
    autoescape = env.autoescape if isinstance(env.autoescape, bool) else "callable"
    values += [
        f"autoescape={autoescape}",
        f"finalize={env.finalize is not None}",
        f"extensions={sorted(env.extensions)}",
        f"generator={env.code_generator_class.__qualname__}",
        f"jinja={jinja2.__version__}",
    ]
    return "; ".join(values)


def checksum(source: str) -> str:
    return hashlib.sha1(source.encode("utf-8")).hexdigest()


def module_name(kind: str, name: str) -> str:
    return f"{kind}_" + "".join(c if c.isalnum() else "_" for c in name)


class PrecompiledTemplates(BytecodeCache):
    """Hands Jinja the ahead-of-time code of a template it is about to compile, when that
    code was made from the same source under the same settings; otherwise nothing, and Jinja
    compiles as it would without this cache. `kind` names the environment the code was made
    for ("mkdocs": MkDocs' with Material's theme)."""

    def __init__(self, kind: str):
        from . import precompiled_templates as made

        self.kind = kind
        self.made = made
        self.usable: bool | None = None  # the environment's settings, checked once

    def get_bucket(self, environment, name, filename, source):
        bucket = Bucket(environment, f"{self.kind}:{name}", "")
        made = self.made.TEMPLATES.get(bucket.key)
        if made is None or made[0] != checksum(source):
            return bucket  # not ours, or changed by the site: Jinja compiles it
        if self.usable is None:
            self.usable = settings(environment) == self.made.SETTINGS.get(self.kind)
        if self.usable:
            bucket.code = _code(made[1], filename or name)
        return bucket

    def set_bucket(self, bucket):
        pass  # nothing compiled in a build is kept: the next build is another process

    def load_bytecode(self, bucket):  # unused: get_bucket above does the lookup
        pass

    def dump_bytecode(self, bucket):
        pass


def _code(module: str, filename: str) -> CodeType:
    """The module's code (from its bytecode when installed), named for the template, so that
    a template error's traceback points at the template, as it does when Jinja compiles."""
    spec = importlib.util.find_spec(f"{PACKAGE}.{module}")
    return _renamed(spec.loader.get_code(spec.name), filename)


def _renamed(code: CodeType, filename: str) -> CodeType:
    consts = tuple(_renamed(c, filename) if isinstance(c, CodeType) else c for c in code.co_consts)
    return code.replace(co_filename=filename, co_consts=consts)


def environments() -> dict[str, jinja2.Environment]:
    """The environments the code is made for, with the templates each compiles."""
    from mkdocs.theme import Theme

    from .banners import banner_environment

    return {"mkdocs": Theme(name="material").get_env(), "banner": banner_environment()}


# Which of the theme's templates each environment compiles from the plugin's theme.
def templates_of(kind: str) -> list[str]:
    if kind == "banner":
        return ["partials/tideway-banner.html"]
    return sorted(p.relative_to(THEME_DIR).as_posix() for p in THEME_DIR.rglob("*.html"))


def generate() -> dict[str, str]:
    """Every file of `precompiled_templates/`, by name, as this checkout's templates and the
    installed Jinja make them."""
    files: dict[str, str] = {}
    registry, kinds = [], []
    for kind, env in environments().items():
        kinds.append(f"    {kind!r}: {settings(env)!r},")
        for name in templates_of(kind):
            path = THEME_DIR / name
            source = path.read_text(encoding="utf-8")
            module = module_name(kind, name)
            code = env.compile(source, name, str(path), raw=True)
            header = f"# Generated from theme/{name} by tideway_site/precompiled.py."
            files[f"{module}.py"] = f"{header}\n{code}\n"
            registry.append(f"    {kind + ':' + name!r}: ({checksum(source)!r}, {module!r}),")
    files["__init__.py"] = "\n".join(
        [
            '"""Generated by `python -m tideway_site.precompiled`: the theme\'s templates as',
            "Jinja compiles them (see tideway_site/precompiled.py). Do not edit.",
            '"""',
            "",
            "SETTINGS = {",
            *kinds,
            "}",
            "# kind:template -> (checksum of the source, module)",
            "TEMPLATES = {",
            *registry,
            "}",
            "",
        ]
    )
    return files


def write() -> list[Path]:
    files = generate()
    OUT_DIR.mkdir(exist_ok=True)
    for stale in OUT_DIR.glob("*.py"):
        if stale.name not in files:
            stale.unlink()
    written = []
    for name, text in files.items():
        (OUT_DIR / name).write_text(text, encoding="utf-8")
        written.append(OUT_DIR / name)
    return written


if __name__ == "__main__":
    for path in write():
        print(path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path)
