# Generated from theme/partials/tideway-banner.html by tideway_site/precompiled.py.
from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = 'partials/tideway-banner.html'

def root(context, missing=missing, environment=environment):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    l_0_config = resolve('config')
    l_0_base_url = resolve('base_url')
    l_0_tw = l_0_default = l_0_root = missing
    try:
        t_1 = environment.filters['e']
    except KeyError:
        @internalcode
        def t_1(*unused):
            raise TemplateRuntimeError("No filter named 'e' found.")
    try:
        t_2 = environment.tests['string']
    except KeyError:
        @internalcode
        def t_2(*unused):
            raise TemplateRuntimeError("No test named 'string' found.")
    pass
    l_0_tw = (environment.getattr(environment.getattr((undefined(name='config') if l_0_config is missing else l_0_config), 'extra'), 'tideway') or {})
    context.vars['tw'] = l_0_tw
    context.exported_vars.add('tw')
    l_0_default = (environment.getattr((environment.getattr(environment.getattr((undefined(name='config') if l_0_config is missing else l_0_config), 'extra'), 'version') or {}), 'default') or 'latest')
    context.vars['default'] = l_0_default
    context.exported_vars.add('default')
    if (not t_2((undefined(name='default') if l_0_default is missing else l_0_default))):
        pass
        l_0_default = environment.getitem((undefined(name='default') if l_0_default is missing else l_0_default), 0)
        context.vars['default'] = l_0_default
        context.exported_vars.add('default')
    l_0_root = ((undefined(name='base_url') if l_0_base_url is missing else l_0_base_url)[:-1] if ((undefined(name='base_url') if l_0_base_url is missing else l_0_base_url)[-1:] == '/') else (undefined(name='base_url') if l_0_base_url is missing else l_0_base_url))
    context.vars['root'] = l_0_root
    context.exported_vars.add('root')
    yield '<span data-tideway-banner="'
    yield escape(('unreleased' if environment.getattr((undefined(name='tw') if l_0_tw is missing else l_0_tw), 'dev') else 'outdated'))
    yield '">\n    <span data-tideway-when="outdated"'
    if environment.getattr((undefined(name='tw') if l_0_tw is missing else l_0_tw), 'dev'):
        pass
        yield ' hidden'
    yield '>You are reading version <strong data-tideway-current>'
    yield escape(t_1(environment.getattr((undefined(name='tw') if l_0_tw is missing else l_0_tw), 'version')))
    yield '</strong>, which is not the latest release.</span>\n    <span data-tideway-when="unreleased"'
    if (not environment.getattr((undefined(name='tw') if l_0_tw is missing else l_0_tw), 'dev')):
        pass
        yield ' hidden'
    yield '>You are reading version <strong data-tideway-current>'
    yield escape(t_1(environment.getattr((undefined(name='tw') if l_0_tw is missing else l_0_tw), 'version')))
    yield '</strong>, which is not yet released.</span>\n    <a href="'
    yield escape((undefined(name='root') if l_0_root is missing else l_0_root))
    yield '/../'
    yield escape(t_1((undefined(name='default') if l_0_default is missing else l_0_default)))
    yield '/" data-tideway-latest="'
    yield escape(t_1((undefined(name='default') if l_0_default is missing else l_0_default)))
    yield '">Read this page in the latest release.</a>\n</span>'

blocks = {}
debug_info = '9=26&10=29&11=32&14=37&15=41&16=43&17=49&18=55'
