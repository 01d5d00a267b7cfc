//! Paging through every hit of a search, page by page, with a tiebreaker
//! so that no hit is repeated or skipped: over a point in time on
//! Elasticsearch (ties broken on `_shard_doc`), on `_id` on the embedded
//! engine.

use std::sync::Arc;

use serde_json::{Value, json};

use super::{Hit, Search};
use crate::backend::Backend;
use crate::error::Result;
use crate::record::Record;

/// How long a point in time is kept between two pages.
const KEEP_ALIVE: &str = "1m";

/// The pages of a search ([`Search::stream`]): call
/// [`next_page`](Self::next_page) until it gives `None`; a point in time is
/// closed after the last page (or by [`close`](Self::close)).
#[derive(Debug)]
pub struct Pages<R> {
    search: Search<R>,
    backend: Arc<dyn Backend>,
    patterns: Vec<String>,
    point_in_time: Option<String>,
    after: Option<Vec<Value>>,
    done: bool,
}

impl<R: Record> Pages<R> {
    pub(crate) async fn open(
        search: Search<R>,
        backend: Arc<dyn Backend>,
        patterns: Vec<String>,
    ) -> Result<Pages<R>> {
        let point_in_time = backend.open_point_in_time(&patterns, KEEP_ALIVE).await?;
        let tiebreaker = match point_in_time {
            Some(_) => json!({"_shard_doc": "asc"}),
            None => json!({"_id": "asc"}),
        };
        let mut search = if search.sort.is_empty() {
            search.oldest_first()
        } else {
            search
        };
        search.sort.push(tiebreaker);
        // Pages come in the sort's order (`latest` reverses one page only).
        search.reversed = false;
        Ok(Pages {
            after: search.search_after.clone(),
            search,
            backend,
            patterns,
            point_in_time,
            done: false,
        })
    }

    /// The next page of hits (at most the search's `size`), or `None` after
    /// the last.
    pub async fn next_page(&mut self) -> Result<Option<Vec<Hit<R>>>> {
        if self.done {
            return Ok(None);
        }
        let mut body = self.search.to_json()?;
        if let Some(after) = &self.after {
            body["search_after"] = Value::Array(after.clone());
        }
        let answer = match &self.point_in_time {
            Some(id) => {
                body["pit"] = json!({"id": id, "keep_alive": KEEP_ALIVE});
                self.backend.search_point_in_time(&body).await?
            }
            None => self.backend.search(&self.patterns, &body).await?,
        };
        let (results, next_point_in_time) = self.search.read_answer_and_point_in_time(answer)?;
        if let (Some(id), Some(point_in_time)) = (next_point_in_time, &mut self.point_in_time) {
            *point_in_time = id;
        }
        let hits = results.hits;
        if hits.len() < self.search.size || hits.is_empty() {
            self.done = true;
            self.close_point_in_time().await?;
        }
        match hits.last() {
            Some(last) => self.after = Some(last.sort.clone()),
            None => return Ok(None),
        }
        Ok(Some(hits))
    }

    /// Closes the point in time before the last page (after it, this
    /// happens by itself).
    pub async fn close(mut self) -> Result<()> {
        self.done = true;
        self.close_point_in_time().await
    }

    async fn close_point_in_time(&mut self) -> Result<()> {
        match self.point_in_time.take() {
            Some(id) => self.backend.close_point_in_time(&id).await,
            None => Ok(()),
        }
    }
}
