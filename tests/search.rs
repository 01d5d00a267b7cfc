//! Typed searches on the embedded engine: the shared search scenarios
//! (`search_scenarios.rs`) and date scenarios (`date_scenarios.rs`), which
//! the live Elasticsearch suite runs too, each on a fresh store.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use esrecord_tests::fresh_store;

#[path = "search_scenarios.rs"]
mod search_scenarios;

#[path = "date_scenarios.rs"]
mod date_scenarios;

macro_rules! embedded_scenario {
    ($name:ident) => {
        embedded_scenario!(search_scenarios::$name);
    };
    ($module:ident :: $name:ident) => {
        #[tokio::test]
        async fn $name() {
            let store = fresh_store(concat!("search-", stringify!($name))).unwrap();
            $module::$name(&store).await;
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
embedded_scenario!(date_scenarios::every_date_from_year_1_to_9999_is_found_in_its_own_partition);
embedded_scenario!(
    date_scenarios::ranges_include_from_and_exclude_until_before_1970_and_after_2262
);
embedded_scenario!(
    date_scenarios::ranges_inside_partitions_at_both_ends_find_exactly_the_records_inside
);
embedded_scenario!(date_scenarios::ranges_name_the_partitions_they_touch_in_every_age);
embedded_scenario!(date_scenarios::date_fields_filter_sort_and_page_across_the_ages);
embedded_scenario!(date_scenarios::min_and_max_of_date_fields_are_the_earliest_and_latest_instants);
embedded_scenario!(date_scenarios::date_histograms_by_local_month_in_time_zones_across_1970);
embedded_scenario!(date_scenarios::daily_histograms_fill_empty_days_across_1970);
