# Generated from theme/partials/feedback.html by tideway_site/precompiled.py.
from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = 'partials/feedback.html'

def root(context, missing=missing, environment=environment):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    l_0_config = resolve('config')
    l_0_feedback = resolve('feedback')
    l_0_page = resolve('page')
    l_0_base_url = resolve('base_url')
    l_0_tideway = missing
    try:
        t_1 = environment.filters['replace']
    except KeyError:
        @internalcode
        def t_1(*unused):
            raise TemplateRuntimeError("No filter named 'replace' found.")
    pass
    if environment.getitem(environment.getattr((undefined(name='config') if l_0_config is missing else l_0_config), 'extra'), 'analytics'):
        pass
        yield '\n  '
        l_0_feedback = environment.getitem(environment.getitem(environment.getattr((undefined(name='config') if l_0_config is missing else l_0_config), 'extra'), 'analytics'), 'feedback')
        context.vars['feedback'] = l_0_feedback
        context.exported_vars.add('feedback')
        yield '\n'
    yield '\n'
    if (environment.getattr((undefined(name='page') if l_0_page is missing else l_0_page), 'meta') and environment.getitem(environment.getattr((undefined(name='page') if l_0_page is missing else l_0_page), 'meta'), 'hide')):
        pass
        yield '\n  '
        if ('feedback' in environment.getitem(environment.getattr((undefined(name='page') if l_0_page is missing else l_0_page), 'meta'), 'hide')):
            pass
            yield '\n    '
            l_0_feedback = None
            context.vars['feedback'] = l_0_feedback
            context.exported_vars.add('feedback')
            yield '\n  '
        yield '\n'
    yield '\n'
    l_0_tideway = (environment.getitem(environment.getattr((undefined(name='config') if l_0_config is missing else l_0_config), 'extra'), 'tideway') or {})
    context.vars['tideway'] = l_0_tideway
    context.exported_vars.add('tideway')
    yield '\n'
    if ((undefined(name='feedback') if l_0_feedback is missing else l_0_feedback) and environment.getitem((undefined(name='tideway') if l_0_tideway is missing else l_0_tideway), 'widget')):
        pass
        yield str(t_1(context.eval_ctx, t_1(context.eval_ctx, environment.getitem((undefined(name='tideway') if l_0_tideway is missing else l_0_tideway), 'widget'), 'tideway:page-url', environment.getattr((undefined(name='page') if l_0_page is missing else l_0_page), 'url')), 'tideway:base-url', (undefined(name='base_url') if l_0_base_url is missing else l_0_base_url)))
        yield '\n'
    elif (undefined(name='feedback') if l_0_feedback is missing else l_0_feedback):
        pass
        template = environment.get_template('partials/tideway-feedback.html', 'partials/feedback.html')
        gen = template.root_render_func(template.new_context(context.get_all(), True, {'feedback': l_0_feedback, 'tideway': l_0_tideway}))
        try:
            for event in gen:
                yield event
        finally: gen.close()
        yield '\n'

blocks = {}
debug_info = '8=22&9=25&11=30&12=33&13=36&16=42&17=46&20=48&21=50&23=52'
