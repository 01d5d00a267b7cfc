//! Typed searches on the embedded engine: the shared search scenarios
//! (`search_scenarios.rs`, which the live Elasticsearch suite runs too),
//! each on a fresh store.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use esrecord_tests::fresh_store;

#[path = "search_scenarios.rs"]
mod search_scenarios;

macro_rules! embedded_scenario {
    ($name:ident) => {
        #[tokio::test]
        async fn $name() {
            let store = fresh_store(concat!("search-", stringify!($name))).unwrap();
            search_scenarios::$name(&store).await;
        }
    };
}

embedded_scenario!(each_filter_finds_exactly_the_matching_records);
embedded_scenario!(metadata_filters_do_not_match_other_keys_values);
embedded_scenario!(filter_exclude_and_should_combine_with_the_time_range);
embedded_scenario!(latest_gives_the_newest_records_oldest_first);
embedded_scenario!(columns_are_aligned_with_timestamps_and_none_where_a_record_lacks_the_field);
embedded_scenario!(aggregations_read_back_typed_with_the_answers_the_data_gives);
embedded_scenario!(streaming_pages_through_every_hit_once);
embedded_scenario!(text_fields_match_by_their_words);
embedded_scenario!(sorted_pages_across_partitions_follow_the_sort);
