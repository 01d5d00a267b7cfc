//! Typed searches on the embedded engine: the shared search scenarios
//! (`search_scenarios.rs`) and date scenarios (`date_scenarios.rs`), which
//! the live Elasticsearch suite runs too, each on a fresh store.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use esrecord_tests::fresh_store;

#[path = "search_scenarios.rs"]
mod search_scenarios;

#[path = "date_scenarios.rs"]
mod date_scenarios;

/// Runs a shared scenario on a fresh embedded store of its own.
macro_rules! embedded_scenario {
    ($module:ident :: $name:ident) => {
        #[tokio::test]
        async fn $name() {
            let store = fresh_store(concat!("search-", stringify!($name))).unwrap();
            $module::$name(&store).await;
        }
    };
}

search_scenarios::search_scenarios!(embedded_scenario);
date_scenarios::date_scenarios!(embedded_scenario);
