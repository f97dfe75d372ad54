# Generated from theme/partials/javascripts/outdated.html by tideway_site/precompiled.py.
from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = 'partials/javascripts/outdated.html'

def root(context, missing=missing, environment=environment):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    l_0_base_url = resolve('base_url')
    pass
    yield '<script>\n  (function () {\n    var el = document.querySelector("[data-md-component=outdated]");\n    var base = new URL("'
    yield str((undefined(name='base_url') if l_0_base_url is missing else l_0_base_url))
    yield '", location.href);\n    var outdated = __md_get("__outdated", sessionStorage, base);\n    if (outdated === true && el) el.hidden = false;\n  })();\n</script>'

blocks = {}
debug_info = '8=13'
