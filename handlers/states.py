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
