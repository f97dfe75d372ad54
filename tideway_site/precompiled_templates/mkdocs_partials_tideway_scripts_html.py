# Generated from theme/partials/tideway-scripts.html by tideway_site/precompiled.py.
from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = 'partials/tideway-scripts.html'

def root(context, missing=missing, environment=environment):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    l_0_base_url = resolve('base_url')
    l_0_root = missing
    pass
    l_0_root = ((undefined(name='base_url') if l_0_base_url is missing else l_0_base_url)[:-1] if ((undefined(name='base_url') if l_0_base_url is missing else l_0_base_url)[-1:] == '/') else (undefined(name='base_url') if l_0_base_url is missing else l_0_base_url))
    context.vars['root'] = l_0_root
    context.exported_vars.add('root')
    yield '\n<link rel="stylesheet" href="'
    yield str((undefined(name='root') if l_0_root is missing else l_0_root))
    yield '/assets/tideway/feedback.css">\n<script src="'
    yield str((undefined(name='root') if l_0_root is missing else l_0_root))
    yield '/assets/tideway/feedback.min.js" defer></script>\n<script src="'
    yield str((undefined(name='root') if l_0_root is missing else l_0_root))
    yield '/assets/tideway/versions.js" defer></script>'

blocks = {}
debug_info = '5=13&6=17&7=19&8=21'
