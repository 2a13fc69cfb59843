//! `per_kind!`: one `#[tokio::test]` per agent kind and scenario, for tests that run the same
//! scenario against the fake agent in every kind's costume. A scenario is an `async fn(&str)`
//! taking the kind's name.
//!
//! ```text
//! per_kind!(claude, gemini => [approving_runs_the_command]);
//! // defines claude::approving_runs_the_command and gemini::approving_runs_the_command
//! ```

macro_rules! per_kind {
    ($($kind:ident),* => $scenarios:tt) => {
        $(per_kind!(@kind $kind $scenarios);)*
    };
    (@kind $kind:ident [$($scenario:ident),*]) => {
        mod $kind {
            $(per_kind!(@test $kind $scenario);)*
        }
    };
    (@test $kind:ident $scenario:ident) => {
        #[tokio::test]
        async fn $scenario() {
            super::$scenario(stringify!($kind)).await;
        }
    };
}
