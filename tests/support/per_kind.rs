//! `per_kind!`: one `#[tokio::test]` per agent kind and scenario, for tests that run the same
//! scenario against the fake agent in every kind's costume. A scenario is an `async fn(&str)`
//! taking the kind's name; attributes before a kind (an `#[ignore = "why"]`) apply to its tests.
//!
//! ```ignore
//! per_kind!(claude, #[ignore = "driver bug"] gemini => [approving_runs_the_command]);
//! // defines claude::approving_runs_the_command and gemini::approving_runs_the_command
//! ```

macro_rules! per_kind {
    ($($(#[$attr:meta])* $kind:ident),* => $scenarios:tt) => {
        $(per_kind!(@kind [$(#[$attr])*] $kind $scenarios);)*
    };
    (@kind $attrs:tt $kind:ident [$($scenario:ident),*]) => {
        mod $kind {
            $(per_kind!(@test $attrs $kind $scenario);)*
        }
    };
    (@test [$($attr:tt)*] $kind:ident $scenario:ident) => {
        #[tokio::test]
        $($attr)*
        async fn $scenario() {
            super::$scenario(stringify!($kind)).await;
        }
    };
}
