"""Conversation states. Names are stored in the database, so renaming one strands live conversations."""

from aiogram.fsm.state import State, StatesGroup


class Onboarding(StatesGroup):
    consent = State()
    school = State()


class Intake(StatesGroup):
    role = State()
    type = State()
    question = State()
    evidence = State()
    identity = State()
    contact = State()
    summary = State()
    edit = State()


class Triage(StatesGroup):
    ask = State()  # the responder's next message goes to the reporter
    note = State()  # closing: the note (or the original case's code for a duplicate)


class Reply(StatesGroup):
    text = State()  # the reporter's next message answers the responder's question
