# Generated from theme/partials/integrations/analytics.html by tideway_site/precompiled.py.
from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = 'partials/integrations/analytics.html'

def root(context, missing=missing, environment=environment):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    l_0_config = resolve('config')
    l_0_provider = resolve('provider')
    pass
    template = environment.get_template('partials/tideway-head.html', 'partials/integrations/analytics.html')
    gen = template.root_render_func(template.new_context(context.get_all(), True, {'provider': l_0_provider}))
    try:
        for event in gen:
            yield event
    finally: gen.close()
    yield '\n'
    template = environment.get_template('partials/tideway-scripts.html', 'partials/integrations/analytics.html')
    gen = template.root_render_func(template.new_context(context.get_all(), True, {'provider': l_0_provider}))
    try:
        for event in gen:
            yield event
    finally: gen.close()
    if (environment.getitem(environment.getattr((undefined(name='config') if l_0_config is missing else l_0_config), 'extra'), 'version') and (not environment.getitem((environment.getitem(environment.getattr((undefined(name='config') if l_0_config is missing else l_0_config), 'extra'), 'tideway') or {}), 'plugin'))):
        pass
        yield '\n  <template id="__tideway-banner">'
        template = environment.get_template('partials/tideway-banner.html', 'partials/integrations/analytics.html')
        gen = template.root_render_func(template.new_context(context.get_all(), True, {'provider': l_0_provider}))
        try:
            for event in gen:
                yield event
        finally: gen.close()
        yield '</template>\n'
    yield '\n'
    if environment.getattr(environment.getattr((undefined(name='config') if l_0_config is missing else l_0_config), 'extra'), 'analytics'):
        pass
        yield '\n  '
        l_0_provider = environment.getattr(environment.getattr(environment.getattr((undefined(name='config') if l_0_config is missing else l_0_config), 'extra'), 'analytics'), 'provider')
        context.vars['provider'] = l_0_provider
        context.exported_vars.add('provider')
        yield '\n'
    yield '\n'
    if (undefined(name='provider') if l_0_provider is missing else l_0_provider):
        pass
        yield '\n  '
        template = environment.get_or_select_template(str_join(('partials/integrations/analytics/', (undefined(name='provider') if l_0_provider is missing else l_0_provider), '.html', )), 'partials/integrations/analytics.html')
        gen = template.root_render_func(template.new_context(context.get_all(), True, {'provider': l_0_provider}))
        try:
            for event in gen:
                yield event
        finally: gen.close()
        yield '\n  '
        if environment.getattr(environment.getattr((undefined(name='config') if l_0_config is missing else l_0_config), 'extra'), 'consent'):
            pass
            yield '\n    <script>if("undefined"!=typeof __md_analytics){var consent=__md_get("__consent");consent&&consent.analytics&&__md_analytics()}</script>\n  '
        else:
            pass
            yield '\n    <script>"undefined"!=typeof __md_analytics&&__md_analytics()</script>\n  '
        yield '\n'

blocks = {}
debug_info = '9=13&10=20&13=26&14=29&16=37&17=40&19=45&20=48&21=55'
