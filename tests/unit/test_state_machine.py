"""The job states: the contract's wire strings, and which moves are legal."""

from __future__ import annotations

from app.jobs import LEGAL_MOVES, TERMINAL_STATES, ImportState


def test_states_are_the_contracts_wire_strings() -> None:
    assert [state.value for state in ImportState] == [
        "START_REQUESTED", "IN_PROCESS", "COMPLETED", "FAILED", "CANCELLED",
    ]  # fmt: skip


def test_terminal_states_never_move_again() -> None:
    for state in TERMINAL_STATES:
        assert LEGAL_MOVES[state] == frozenset()
        assert state.is_terminal


def test_a_job_moves_forward_only() -> None:
    assert ImportState.IN_PROCESS in LEGAL_MOVES[ImportState.START_REQUESTED]
    assert ImportState.COMPLETED in LEGAL_MOVES[ImportState.IN_PROCESS]
    assert ImportState.START_REQUESTED not in LEGAL_MOVES[ImportState.IN_PROCESS]
    assert ImportState.COMPLETED not in LEGAL_MOVES[ImportState.START_REQUESTED]
