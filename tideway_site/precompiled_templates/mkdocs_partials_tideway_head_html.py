# Generated from theme/partials/tideway-head.html by tideway_site/precompiled.py.
from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = 'partials/tideway-head.html'

def root(context, missing=missing, environment=environment):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    l_0_config = resolve('config')
    l_0_page = resolve('page')
    l_0_tideway = l_0_meta = l_0_stamp = missing
    try:
        t_1 = environment.filters['e']
    except KeyError:
        @internalcode
        def t_1(*unused):
            raise TemplateRuntimeError("No filter named 'e' found.")
    try:
        t_2 = environment.filters['striptags']
    except KeyError:
        @internalcode
        def t_2(*unused):
            raise TemplateRuntimeError("No filter named 'striptags' found.")
    pass
    l_0_tideway = (environment.getitem(environment.getattr((undefined(name='config') if l_0_config is missing else l_0_config), 'extra'), 'tideway') or {})
    context.vars['tideway'] = l_0_tideway
    context.exported_vars.add('tideway')
    yield '\n'
    l_0_meta = (environment.getattr((undefined(name='page') if l_0_page is missing else l_0_page), 'meta') if ((undefined(name='page') if l_0_page is missing else l_0_page) and environment.getattr((undefined(name='page') if l_0_page is missing else l_0_page), 'meta')) else {})
    context.vars['meta'] = l_0_meta
    context.exported_vars.add('meta')
    yield '\n'
    l_0_stamp = (environment.getitem((undefined(name='meta') if l_0_meta is missing else l_0_meta), 'tideway') or {})
    context.vars['stamp'] = l_0_stamp
    context.exported_vars.add('stamp')
    yield '\n<meta name="tideway:version" content="'
    yield str(t_1(environment.getitem((undefined(name='tideway') if l_0_tideway is missing else l_0_tideway), 'version')))
    yield '">\n<meta name="tideway:page" content="'
    yield str(t_1((environment.getattr((undefined(name='page') if l_0_page is missing else l_0_page), 'url') if (undefined(name='page') if l_0_page is missing else l_0_page) else '')))
    yield '">\n<meta name="tideway:title" content="'
    yield str(t_1(t_2((environment.getattr((undefined(name='page') if l_0_page is missing else l_0_page), 'title') if (undefined(name='page') if l_0_page is missing else l_0_page) else ''))))
    yield '">\n<meta name="tideway:source" content="'
    yield str(t_1(environment.getitem((undefined(name='stamp') if l_0_stamp is missing else l_0_stamp), 'source')))
    yield '">\n<meta name="tideway:owner" content="'
    yield str(t_1((environment.getitem((undefined(name='stamp') if l_0_stamp is missing else l_0_stamp), 'owner') or environment.getitem((undefined(name='meta') if l_0_meta is missing else l_0_meta), 'owner'))))
    yield '">\n<meta name="tideway:reviewed" content="'
    yield str(t_1((environment.getitem((undefined(name='stamp') if l_0_stamp is missing else l_0_stamp), 'reviewed') or environment.getitem((undefined(name='meta') if l_0_meta is missing else l_0_meta), 'reviewed'))))
    yield '">\n'
    if environment.getitem((undefined(name='stamp') if l_0_stamp is missing else l_0_stamp), 'commit'):
        pass
        yield '<meta name="tideway:commit" content="'
        yield str(t_1(environment.getitem((undefined(name='stamp') if l_0_stamp is missing else l_0_stamp), 'commit')))
        yield '">'
    yield '\n'
    if environment.getitem((undefined(name='stamp') if l_0_stamp is missing else l_0_stamp), 'hash'):
        pass
        yield '<meta name="tideway:hash" content="'
        yield str(t_1(environment.getitem((undefined(name='stamp') if l_0_stamp is missing else l_0_stamp), 'hash')))
        yield '">'
    yield '\n'
    if (environment.getitem((undefined(name='stamp') if l_0_stamp is missing else l_0_stamp), 'priority') or environment.getitem((undefined(name='meta') if l_0_meta is missing else l_0_meta), 'priority')):
        pass
        yield '<meta name="tideway:priority" content="'
        yield str(t_1((environment.getitem((undefined(name='stamp') if l_0_stamp is missing else l_0_stamp), 'priority') or environment.getitem((undefined(name='meta') if l_0_meta is missing else l_0_meta), 'priority'))))
        yield '">'

blocks = {}
debug_info = '8=26&9=30&10=34&11=38&12=40&13=42&14=44&15=46&16=48&17=50&18=56&19=62'
