# Generated from theme/partials/tideway-feedback.html by tideway_site/precompiled.py.
from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = 'partials/tideway-feedback.html'

def root(context, missing=missing, environment=environment):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    l_0_config = resolve('config')
    l_0_feedback = resolve('feedback')
    l_0_page = resolve('page')
    l_0_tideway = resolve('tideway')
    l_0_base_url = resolve('base_url')
    l_0_default_reasons = l_0_builtin = l_0_language = l_0_zh = l_0_custom = l_0_base = l_0_messages = missing
    try:
        t_1 = environment.filters['d']
    except KeyError:
        @internalcode
        def t_1(*unused):
            raise TemplateRuntimeError("No filter named 'd' found.")
    try:
        t_2 = environment.filters['replace']
    except KeyError:
        @internalcode
        def t_2(*unused):
            raise TemplateRuntimeError("No filter named 'replace' found.")
    try:
        t_3 = environment.filters['string']
    except KeyError:
        @internalcode
        def t_3(*unused):
            raise TemplateRuntimeError("No filter named 'string' found.")
    try:
        t_4 = environment.filters['tojson']
    except KeyError:
        @internalcode
        def t_4(*unused):
            raise TemplateRuntimeError("No filter named 'tojson' found.")
    pass
    l_0_default_reasons = {'1': ['solved_my_problem', 'easy_to_understand', 'accurate', 'good_examples', 'other'], '0': ['inaccurate', 'broken_example', 'hard_to_follow', 'missing_information', 'outdated', 'other']}
    context.vars['default_reasons'] = l_0_default_reasons
    context.exported_vars.add('default_reasons')
    yield '\n'
    l_0_builtin = {'en': {'reasons.1': 'What did you like?', 'reasons.0': 'What went wrong?', 'reason.solved_my_problem': 'It solved my problem', 'reason.easy_to_understand': 'Easy to understand', 'reason.accurate': 'Accurate', 'reason.good_examples': 'Good examples', 'reason.inaccurate': 'Something is wrong', 'reason.broken_example': 'An example does not work', 'reason.hard_to_follow': 'Hard to follow', 'reason.missing_information': 'Information is missing', 'reason.outdated': 'Out of date', 'reason.other': 'Something else', 'passage': 'About this passage:', 'comment': 'Tell us more (optional)', 'count': '{n} / 2,000 characters', 'notify': 'Tell me by e-mail when this is fixed', 'email': 'E-mail address', 'email_hint': 'Used only to tell you about this page.', 'send': 'Send', 'thanks': 'Thank you! Your feedback was sent to the people who write this page.', 'related': 'These pages may help:', 'rated': 'You rated this page.', 'change': 'Change your answer', 'pin': 'Feedback on this passage', 'cancel': 'Cancel', 'sending': 'Sending…', 'queued': 'Your feedback could not be sent yet. It is saved in this browser and will be sent automatically.', 'invalid': 'Something in the form could not be accepted. Please check it and send again.', 'bad_email': 'Please enter a valid e-mail address.', 'expired': 'It is too late to add to this answer. Rate the page again to send more.', 'no_page': 'This page cannot take feedback right now.'}, 'zh': {'reasons.1': '哪些方面对你有帮助？', 'reasons.0': '遇到了什么问题？', 'reason.solved_my_problem': '解决了我的问题', 'reason.easy_to_understand': '通俗易懂', 'reason.accurate': '内容准确', 'reason.good_examples': '示例很实用', 'reason.inaccurate': '内容有误', 'reason.broken_example': '示例无法运行', 'reason.hard_to_follow': '不易看懂', 'reason.missing_information': '缺少信息', 'reason.outdated': '内容已过时', 'reason.other': '其他', 'passage': '针对这段内容：', 'comment': '详细说明（选填）', 'count': '{n} / 2000 字', 'notify': '问题修复后发邮件通知我', 'email': '电子邮箱', 'email_hint': '仅用于通知你本页的修改情况。', 'send': '提交', 'thanks': '谢谢！你的反馈已送达本页的编写者。', 'related': '以下页面或许能帮到你：', 'rated': '你已评价过本页。', 'change': '修改评价', 'pin': '反馈这段内容', 'cancel': '取消', 'sending': '正在提交…', 'queued': '反馈暂时未能提交，已保存在浏览器中，稍后会自动重新提交。', 'invalid': '表单中有内容未被接受，请检查后重新提交。', 'bad_email': '请输入有效的电子邮箱地址。', 'expired': '已超过补充时限。如需补充，请重新评价本页。', 'no_page': '本页暂时无法接收反馈。'}}
    context.vars['builtin'] = l_0_builtin
    context.exported_vars.add('builtin')
    yield '\n'
    l_0_language = t_1(environment.getattr(environment.getattr((undefined(name='config') if l_0_config is missing else l_0_config), 'theme'), 'language'), 'en', True)
    context.vars['language'] = l_0_language
    context.exported_vars.add('language')
    yield '\n'
    l_0_zh = ((undefined(name='language') if l_0_language is missing else l_0_language) in ['zh', 'zh-Hans', 'zh-CN'])
    context.vars['zh'] = l_0_zh
    context.exported_vars.add('zh')
    l_0_custom = (environment.getattr((undefined(name='feedback') if l_0_feedback is missing else l_0_feedback), 'strings') or {})
    context.vars['custom'] = l_0_custom
    context.exported_vars.add('custom')
    yield '\n'
    l_0_base = environment.getitem((undefined(name='builtin') if l_0_builtin is missing else l_0_builtin), ('zh' if (undefined(name='zh') if l_0_zh is missing else l_0_zh) else 'en'))
    context.vars['base'] = l_0_base
    context.exported_vars.add('base')
    yield '\n'
    l_0_messages = {'count': (environment.getitem((undefined(name='custom') if l_0_custom is missing else l_0_custom), 'count') or environment.getitem((undefined(name='base') if l_0_base is missing else l_0_base), 'count')), 'sending': (environment.getitem((undefined(name='custom') if l_0_custom is missing else l_0_custom), 'sending') or environment.getitem((undefined(name='base') if l_0_base is missing else l_0_base), 'sending')), 'queued': (environment.getitem((undefined(name='custom') if l_0_custom is missing else l_0_custom), 'queued') or environment.getitem((undefined(name='base') if l_0_base is missing else l_0_base), 'queued')), 'invalid': (environment.getitem((undefined(name='custom') if l_0_custom is missing else l_0_custom), 'invalid') or environment.getitem((undefined(name='base') if l_0_base is missing else l_0_base), 'invalid')), 'bad_email': (environment.getitem((undefined(name='custom') if l_0_custom is missing else l_0_custom), 'bad_email') or environment.getitem((undefined(name='base') if l_0_base is missing else l_0_base), 'bad_email')), 'expired': (environment.getitem((undefined(name='custom') if l_0_custom is missing else l_0_custom), 'expired') or environment.getitem((undefined(name='base') if l_0_base is missing else l_0_base), 'expired')), 'no_page': (environment.getitem((undefined(name='custom') if l_0_custom is missing else l_0_custom), 'no_page') or environment.getitem((undefined(name='base') if l_0_base is missing else l_0_base), 'no_page'))}
    context.vars['messages'] = l_0_messages
    context.exported_vars.add('messages')
    yield '\n<div class="tideway-feedback">\n  <form class="md-feedback" name="feedback" hidden\n        data-tideway-page="'
    yield str(environment.getattr((undefined(name='page') if l_0_page is missing else l_0_page), 'url'))
    yield '"\n        data-tideway-version="'
    yield str(environment.getattr((undefined(name='tideway') if l_0_tideway is missing else l_0_tideway), 'version'))
    yield '"\n        data-tideway-api="'
    yield str(t_1(environment.getattr((undefined(name='tideway') if l_0_tideway is missing else l_0_tideway), 'api_base'), '/api/v1', True))
    yield '"\n        data-tideway-manifest="'
    yield str((undefined(name='base_url') if l_0_base_url is missing else l_0_base_url))
    yield '/feedback-manifest.json"\n        data-tideway-locale="'
    yield str(('zh-Hans' if (undefined(name='zh') if l_0_zh is missing else l_0_zh) else (undefined(name='language') if l_0_language is missing else l_0_language)))
    yield '"\n        data-tideway-strings=\''
    yield str(t_4(context.eval_ctx, (undefined(name='messages') if l_0_messages is missing else l_0_messages)))
    yield '\'>\n    <fieldset>\n      <legend class="md-feedback__title">\n        '
    yield str(environment.getattr((undefined(name='feedback') if l_0_feedback is missing else l_0_feedback), 'title'))
    yield '\n      </legend>\n      <div class="md-feedback__inner">\n        <div class="md-feedback__list">\n          '
    for l_1_rating in environment.getattr((undefined(name='feedback') if l_0_feedback is missing else l_0_feedback), 'ratings'):
        _loop_vars = {}
        pass
        yield '\n            <button class="md-feedback__icon md-icon" type="submit" title="'
        yield str(environment.getattr(l_1_rating, 'name'))
        yield '" aria-label="'
        yield str(environment.getattr(l_1_rating, 'name'))
        yield '" data-md-value="'
        yield str(environment.getattr(l_1_rating, 'data'))
        yield '">\n              '
        template = environment.get_or_select_template(str_join(('.icons/', environment.getattr(l_1_rating, 'icon'), '.svg', )), 'partials/tideway-feedback.html')
        gen = template.root_render_func(template.new_context(context.get_all(), True, {'rating': l_1_rating, 'base': l_0_base, 'builtin': l_0_builtin, 'custom': l_0_custom, 'default_reasons': l_0_default_reasons, 'language': l_0_language, 'messages': l_0_messages, 'zh': l_0_zh}))
        try:
            for event in gen:
                yield event
        finally: gen.close()
        yield '\n            </button>\n          '
    l_1_rating = missing
    yield '\n        </div>\n      </div>\n    </fieldset>\n    <p class="tideway-rated" hidden>\n      '
    yield str((environment.getitem((undefined(name='custom') if l_0_custom is missing else l_0_custom), 'rated') or environment.getitem((undefined(name='base') if l_0_base is missing else l_0_base), 'rated')))
    yield ' <button type="button" class="tideway-change">'
    yield str((environment.getitem((undefined(name='custom') if l_0_custom is missing else l_0_custom), 'change') or environment.getitem((undefined(name='base') if l_0_base is missing else l_0_base), 'change')))
    yield '</button>\n    </p>\n  </form><div class="tideway-panel">\n    <div class="tideway-thanks" tabindex="-1" aria-live="polite">\n      <p hidden>'
    yield str((environment.getitem((undefined(name='custom') if l_0_custom is missing else l_0_custom), 'thanks') or environment.getitem((undefined(name='base') if l_0_base is missing else l_0_base), 'thanks')))
    yield '</p>\n      <div hidden>\n        <p id="tideway-related">'
    yield str((environment.getitem((undefined(name='custom') if l_0_custom is missing else l_0_custom), 'related') or environment.getitem((undefined(name='base') if l_0_base is missing else l_0_base), 'related')))
    yield '</p>\n        <ul aria-labelledby="tideway-related"></ul>\n      </div>\n    </div>\n    <form class="tideway-more" name="tideway-more" hidden novalidate>\n      <div class="tideway-passage" hidden>\n        <p>'
    yield str((environment.getitem((undefined(name='custom') if l_0_custom is missing else l_0_custom), 'passage') or environment.getitem((undefined(name='base') if l_0_base is missing else l_0_base), 'passage')))
    yield '</p>\n        <blockquote></blockquote>\n      </div>\n      '
    for l_1_rating in environment.getattr((undefined(name='feedback') if l_0_feedback is missing else l_0_feedback), 'ratings'):
        l_1_value = l_1_codes = missing
        _loop_vars = {}
        pass
        yield '\n        '
        l_1_value = t_3(environment.getattr(l_1_rating, 'data'))
        _loop_vars['value'] = l_1_value
        yield '\n        '
        l_1_codes = ((environment.getattr(l_1_rating, 'reasons') or environment.getitem((undefined(name='default_reasons') if l_0_default_reasons is missing else l_0_default_reasons), (undefined(name='value') if l_1_value is missing else l_1_value))) or [])
        _loop_vars['codes'] = l_1_codes
        yield '\n        '
        if (undefined(name='codes') if l_1_codes is missing else l_1_codes):
            pass
            yield '\n          <fieldset class="tideway-reasons" data-md-value="'
            yield str((undefined(name='value') if l_1_value is missing else l_1_value))
            yield '" hidden>\n            <legend>'
            yield str(((environment.getattr(l_1_rating, 'reasons_title') or environment.getitem((undefined(name='custom') if l_0_custom is missing else l_0_custom), str_join(('reasons.', (undefined(name='value') if l_1_value is missing else l_1_value), )))) or environment.getitem((undefined(name='base') if l_0_base is missing else l_0_base), str_join(('reasons.', (undefined(name='value') if l_1_value is missing else l_1_value), )))))
            yield '</legend>\n            '
            for l_2_code in (undefined(name='codes') if l_1_codes is missing else l_1_codes):
                _loop_vars = {}
                pass
                yield '\n              <label><input type="checkbox" name="reasons" value="'
                yield str(l_2_code)
                yield '"> '
                yield str(((environment.getitem((undefined(name='custom') if l_0_custom is missing else l_0_custom), str_join(('reason.', l_2_code, ))) or environment.getitem((undefined(name='base') if l_0_base is missing else l_0_base), str_join(('reason.', l_2_code, )))) or l_2_code))
                yield '</label>\n            '
            l_2_code = missing
            yield '\n          </fieldset>\n        '
        yield '\n      '
    l_1_rating = l_1_value = l_1_codes = missing
    yield '\n      <label for="tideway-comment">'
    yield str((environment.getitem((undefined(name='custom') if l_0_custom is missing else l_0_custom), 'comment') or environment.getitem((undefined(name='base') if l_0_base is missing else l_0_base), 'comment')))
    yield '</label>\n      <textarea id="tideway-comment" name="comment" rows="3" maxlength="2000" aria-describedby="tideway-count"></textarea>\n      <p class="tideway-hint" id="tideway-count" aria-live="off">'
    yield str(t_2(context.eval_ctx, (environment.getitem((undefined(name='custom') if l_0_custom is missing else l_0_custom), 'count') or environment.getitem((undefined(name='base') if l_0_base is missing else l_0_base), 'count')), '{n}', '0'))
    yield '</p>\n      <div class="tideway-notify">\n        <label><input type="checkbox" name="notify"> '
    yield str((environment.getitem((undefined(name='custom') if l_0_custom is missing else l_0_custom), 'notify') or environment.getitem((undefined(name='base') if l_0_base is missing else l_0_base), 'notify')))
    yield '</label>\n        <div hidden>\n          <label for="tideway-email">'
    yield str((environment.getitem((undefined(name='custom') if l_0_custom is missing else l_0_custom), 'email') or environment.getitem((undefined(name='base') if l_0_base is missing else l_0_base), 'email')))
    yield '</label>\n          <input id="tideway-email" name="email" type="email" autocomplete="email" maxlength="320" aria-describedby="tideway-email-hint">\n          <p class="tideway-hint" id="tideway-email-hint">'
    yield str((environment.getitem((undefined(name='custom') if l_0_custom is missing else l_0_custom), 'email_hint') or environment.getitem((undefined(name='base') if l_0_base is missing else l_0_base), 'email_hint')))
    yield '</p>\n        </div>\n      </div><button type="submit" class="md-button md-button--primary">'
    yield str((environment.getitem((undefined(name='custom') if l_0_custom is missing else l_0_custom), 'send') or environment.getitem((undefined(name='base') if l_0_base is missing else l_0_base), 'send')))
    yield '</button> <button type="button" class="md-button tideway-cancel" hidden>'
    yield str((environment.getitem((undefined(name='custom') if l_0_custom is missing else l_0_custom), 'cancel') or environment.getitem((undefined(name='base') if l_0_base is missing else l_0_base), 'cancel')))
    yield '</button>\n    </form>\n    <p class="tideway-status" role="status" aria-live="polite"></p>\n  </div>\n  <button type="button" class="tideway-pin" hidden>'
    yield str((environment.getitem((undefined(name='custom') if l_0_custom is missing else l_0_custom), 'pin') or environment.getitem((undefined(name='base') if l_0_base is missing else l_0_base), 'pin')))
    yield '</button>\n</div>'

blocks = {}
debug_info = '15=41&19=45&87=49&88=53&92=56&93=60&94=64&105=68&106=70&107=72&108=74&109=76&110=78&113=80&117=82&118=86&119=92&126=101&133=105&135=107&141=109&144=111&145=116&146=119&147=122&148=125&149=127&150=129&151=133&156=142&158=144&160=146&162=148&164=150&168=152&172=156'
