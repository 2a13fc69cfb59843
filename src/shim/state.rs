//! The shim's state machine: one enum ([`ShimState`] from the protocol), one transition
//! function. Inputs are what the actor learned (a classifier verdict, a delivered message, the
//! process exit); the output says which change happened, if any, and whether it is the first
//! time the agent reached its prompt (`Ready`).

use std::time::{Duration, Instant};

use crate::protocol::ShimState;

/// What the actor learned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateInput {
    /// The classifier saw the agent at its prompt.
    SawIdle,
    /// The classifier saw the agent busy.
    SawWorking,
    /// The classifier saw the turn end in the agent's context-limit message.
    SawContextExhausted,
    /// The classifier saw the agent wait for an answer to a question or menu.
    SawAwaitingInput,
    /// The question was answered.
    Answered,
    /// A message was accepted by the agent.
    Delivered,
    /// The agent process exited.
    Exited,
}

/// A change of state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub from: ShimState,
    pub to: ShimState,
    /// True exactly once: the first time the agent is recognised at its prompt.
    pub first_ready: bool,
}

/// The next state for `input` in `state`, or `None` when the input changes nothing.
pub fn next_state(state: ShimState, input: StateInput) -> Option<ShimState> {
    use ShimState::*;
    use StateInput::*;
    let next = match (state, input) {
        (Dead, _) => return None,
        (_, Exited) => Dead,
        (ContextExhausted, _) => return None,
        (_, SawContextExhausted) => ContextExhausted,
        (AwaitingInput, SawAwaitingInput | Delivered) => return None,
        (_, SawAwaitingInput) => AwaitingInput,
        // The answer is being worked on; the classifier says what comes next.
        (AwaitingInput, Answered) => Working,
        (_, Answered) => return None,
        // The dialog closed without an answer of ours (a person, or the agent itself).
        (AwaitingInput, SawIdle) => Idle,
        (AwaitingInput, SawWorking) => Working,
        (Starting, SawIdle) => Idle,
        // Not at a prompt yet: still starting, whatever the agent draws.
        (Starting, SawWorking) => return None,
        // A message can only be typed into an agent that was seen idle.
        (Starting, Delivered) => return None,
        (Idle, Delivered | SawWorking) => Working,
        (Working, SawIdle) => Idle,
        (Idle, SawIdle) | (Working, SawWorking | Delivered) => return None,
    };
    Some(next)
}

/// The current state, since when, and whether `Ready` was already announced.
#[derive(Debug, Clone)]
pub struct StateMachine {
    state: ShimState,
    since: Instant,
    ready_announced: bool,
}

impl StateMachine {
    pub fn new(now: Instant) -> Self {
        Self {
            state: ShimState::Starting,
            since: now,
            ready_announced: false,
        }
    }

    pub fn state(&self) -> ShimState {
        self.state
    }

    /// How long the current state has lasted.
    pub fn elapsed(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.since)
    }

    /// Applies `input`; returns the transition when the state changed.
    pub fn apply(&mut self, input: StateInput, now: Instant) -> Option<Transition> {
        let to = next_state(self.state, input)?;
        let first_ready = to == ShimState::Idle && !self.ready_announced;
        self.ready_announced |= first_ready;
        let transition = Transition {
            from: self.state,
            to,
            first_ready,
        };
        self.state = to;
        self.since = now;
        Some(transition)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ShimState::*;
    use StateInput::*;

    #[test]
    fn normal_life_cycle() {
        let now = Instant::now();
        let mut machine = StateMachine::new(now);
        assert_eq!(machine.apply(SawWorking, now), None);
        let ready = machine.apply(SawIdle, now).unwrap();
        assert_eq!(
            (ready.from, ready.to, ready.first_ready),
            (Starting, Idle, true)
        );
        assert_eq!(machine.apply(Delivered, now).unwrap().to, Working);
        let done = machine.apply(SawIdle, now).unwrap();
        assert_eq!((done.to, done.first_ready), (Idle, false));
        assert_eq!(machine.apply(Exited, now).unwrap().to, Dead);
        assert_eq!(machine.apply(SawIdle, now), None);
        assert_eq!(machine.state(), Dead);
    }

    #[test]
    fn context_exhaustion_sticks_until_exit() {
        assert_eq!(
            next_state(Working, SawContextExhausted),
            Some(ContextExhausted)
        );
        assert_eq!(next_state(ContextExhausted, SawIdle), None);
        assert_eq!(next_state(ContextExhausted, Delivered), None);
        assert_eq!(next_state(ContextExhausted, Exited), Some(Dead));
    }

    #[test]
    fn a_question_waits_for_its_answer() {
        for state in [Starting, Idle, Working] {
            assert_eq!(next_state(state, SawAwaitingInput), Some(AwaitingInput));
            assert_eq!(next_state(state, Answered), None);
        }
        assert_eq!(next_state(AwaitingInput, SawAwaitingInput), None);
        assert_eq!(next_state(AwaitingInput, Delivered), None);
        assert_eq!(next_state(AwaitingInput, Answered), Some(Working));
        assert_eq!(next_state(AwaitingInput, SawIdle), Some(Idle));
        assert_eq!(next_state(AwaitingInput, SawWorking), Some(Working));
        assert_eq!(
            next_state(AwaitingInput, SawContextExhausted),
            Some(ContextExhausted)
        );
        assert_eq!(next_state(ContextExhausted, SawAwaitingInput), None);
        // A startup dialog answered: the first prompt after it is still the first Ready.
        let now = Instant::now();
        let mut machine = StateMachine::new(now);
        machine.apply(SawAwaitingInput, now).unwrap();
        machine.apply(Answered, now).unwrap();
        assert!(machine.apply(SawIdle, now).unwrap().first_ready);
    }

    #[test]
    fn every_state_dies_on_exit_and_dead_is_final() {
        for state in [Starting, Idle, Working, ContextExhausted, AwaitingInput] {
            assert_eq!(next_state(state, Exited), Some(Dead));
        }
        for input in [
            SawIdle,
            SawWorking,
            SawContextExhausted,
            SawAwaitingInput,
            Answered,
            Delivered,
            Exited,
        ] {
            assert_eq!(next_state(Dead, input), None);
        }
    }

    #[test]
    fn idle_agent_that_starts_working_by_itself_is_working() {
        assert_eq!(next_state(Idle, SawWorking), Some(Working));
        assert_eq!(next_state(Starting, Delivered), None);
    }
}
