"""What the reporter sees at each step of the intake: texts and keyboards, built from the question tables."""

from __future__ import annotations

from aiogram.fsm.context import FSMContext
from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
)

from bot.drafts import DRAFT_KEY, Draft
from bot.i18n import Translator, per_locale
from bot.intake import IncidentType, Question, Role
from bot.intake.flows import applicable_questions, previous_question
from bot.intake.model import CHOICE_KINDS, AnswerKind
from bot.presenting import role_label, type_label
from handlers.callbacks import AnonCb, AnswerCb, EditCb, EvidenceCb, NavCb, RoleCb, SummaryCb, TypeCb
from handlers.states import Intake

Rows = list[list[InlineKeyboardButton]]


def button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data)


def pairs(buttons: list[InlineKeyboardButton], width: int = 2) -> Rows:
    return [buttons[i:i + width] for i in range(0, len(buttons), width)]


async def load(state: FSMContext) -> Draft | None:
    data = (await state.get_data()).get(DRAFT_KEY)
    return Draft.from_dict(data) if data else None


async def save(state: FSMContext, draft: Draft) -> None:
    await state.update_data({DRAFT_KEY: draft.to_dict()})


@per_locale
def role_keyboard(i18n: Translator) -> InlineKeyboardMarkup:
    buttons = [button(role_label(r.value, i18n), RoleCb(role=r.value).pack()) for r in Role]
    return InlineKeyboardMarkup(inline_keyboard=[*pairs(buttons), [cancel_button(i18n)]])


@per_locale
def type_keyboard(i18n: Translator) -> InlineKeyboardMarkup:
    rows = [[button(type_label(t.value, i18n), TypeCb(type=t.value).pack())] for t in IncidentType]
    return InlineKeyboardMarkup(inline_keyboard=[*rows, [cancel_button(i18n)]])


def cancel_button(i18n: Translator) -> InlineKeyboardButton:
    return button(i18n.plain("btn-cancel"), NavCb(a="cancel").pack())


def question_keyboard(question: Question, draft: Draft, i18n: Translator, *, offer_skip: bool = False
                      ) -> InlineKeyboardMarkup:
    """The question's buttons; made once per locale, ticks and "skip" offered (see `Translator.memo`)."""
    selected = frozenset(draft.selection) if question.kind == AnswerKind.MULTI else frozenset()
    return i18n.memo((question, selected, offer_skip),
                     lambda: _question_keyboard(question, selected, i18n, offer_skip=offer_skip))


def _question_keyboard(question: Question, selected: frozenset[str], i18n: Translator, *, offer_skip: bool
                       ) -> InlineKeyboardMarkup:
    rows: Rows = []
    if question.kind in CHOICE_KINDS:
        choices = [
            button(("✅ " if choice in selected else "") + i18n.plain(question.choice_label_id(choice)),
                   AnswerCb(q=question.key, v=choice).pack())
            for choice in question.choices
        ]
        rows += pairs(choices)
        if question.kind == AnswerKind.MULTI:
            rows.append([button(i18n.plain("btn-done-choosing"), NavCb(a="done", q=question.key).pack())])
    nav = [button(i18n.plain("btn-back"), NavCb(a="back", q=question.key).pack())]
    if question.optional or offer_skip:
        nav.append(button(i18n.plain("btn-skip"), NavCb(a="skip", q=question.key).pack()))
    nav.append(cancel_button(i18n))
    rows.append(nav)
    return InlineKeyboardMarkup(inline_keyboard=rows)


def question_text(question: Question, draft: Draft, i18n: Translator) -> str:
    applicable = applicable_questions(draft.type or "other", draft.answers)
    keys = [q.key for q in applicable]
    position = keys.index(question.key) + 1 if question.key in keys else len(keys)
    text = i18n.t("question-progress", current=str(position), total=str(len(keys))) + "\n" + i18n.t(question.prompt)
    hint = _hint(question)
    return text + ("\n\n" + i18n.t(hint) if hint else "")


def _hint(question: Question) -> str | None:
    if question.kind not in CHOICE_KINDS and question.optional:
        return "hint-optional"
    return None


def led(lead: str | None, text: str) -> str:
    """`text` opened by `lead` (what was just noted), in one message."""
    return f"{lead}\n\n{text}" if lead else text


async def ask(message: Message, state: FSMContext, draft: Draft, question: Question, i18n: Translator,
              *, offer_skip: bool = False, lead: str | None = None) -> None:
    draft.current = question.key
    await save(state, draft)
    await state.set_state(Intake.question)
    await message.answer(led(lead, question_text(question, draft, i18n)),
                         reply_markup=question_keyboard(question, draft, i18n, offer_skip=offer_skip))


def has_previous(draft: Draft) -> bool:
    return draft.current is not None and previous_question(draft.type or "other", draft.answers,
                                                           draft.current) is not None


def evidence_keyboard(draft: Draft, i18n: Translator) -> InlineKeyboardMarkup:
    return i18n.memo(("evidence", len(draft.evidence)), lambda: _evidence_keyboard(len(draft.evidence), i18n))


def _evidence_keyboard(count: int, i18n: Translator) -> InlineKeyboardMarkup:
    done = i18n.plain("btn-evidence-done", count=str(count))
    rows = [[button(done, EvidenceCb(a="done").pack())]] if count else [
        [button(i18n.plain("btn-evidence-none"), EvidenceCb(a="none").pack())]]
    rows.append([cancel_button(i18n)])
    return InlineKeyboardMarkup(inline_keyboard=rows)


@per_locale
def identity_keyboard(i18n: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[
        [button(i18n.plain("btn-anonymous"), AnonCb(a="anon").pack())],
        [button(i18n.plain("btn-share-identity"), AnonCb(a="share").pack())],
        [cancel_button(i18n)],
    ])


@per_locale
def contact_keyboard(i18n: Translator) -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(keyboard=[
        [KeyboardButton(text=i18n.plain("btn-send-contact"), request_contact=True)],
        [KeyboardButton(text=i18n.plain("btn-stay-anonymous"))],
    ], resize_keyboard=True, one_time_keyboard=True)


def summary_keyboard(draft: Draft, i18n: Translator) -> InlineKeyboardMarkup:
    def action(label: str, a: str) -> InlineKeyboardButton:
        return button(i18n.plain(label), SummaryCb(a=a, d=draft.id).pack())

    return InlineKeyboardMarkup(inline_keyboard=[
        [action("btn-confirm", "confirm")],
        [action("btn-edit", "edit"), action("btn-add-evidence", "evidence")],
        [action("btn-change-identity", "identity"), action("btn-cancel-report", "cancel")],
    ])


def edit_keyboard(draft: Draft, i18n: Translator) -> InlineKeyboardMarkup:
    questions = applicable_questions(draft.type or "other", draft.answers)
    buttons = [button(i18n.plain(q.label), EditCb(q=q.key).pack()) for q in questions]
    back = button(i18n.plain("btn-back-to-summary"), SummaryCb(a="back", d=draft.id).pack())
    return InlineKeyboardMarkup(inline_keyboard=[*pairs(buttons), [back]])
