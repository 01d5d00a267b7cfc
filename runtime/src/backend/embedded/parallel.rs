//! Work spread over the cores: the partitions of a bulk write, a refresh
//! or a close, each on its own thread.

use crate::error::{Error, Result};

/// `work` on every item, the items split in contiguous runs over the cores;
/// results in the items' order. A panic in `work` is an error.
pub(super) fn on_all_cores<'t, T: Sync, R: Send>(
    items: &'t [T],
    work: impl Fn(&'t T) -> R + Sync,
) -> Result<Vec<R>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(items.len());
    if threads <= 1 {
        return Ok(items.iter().map(work).collect());
    }
    let chunk = items.len().div_ceil(threads);
    let work = &work;
    std::thread::scope(|scope| {
        let workers: Vec<_> = items
            .chunks(chunk)
            .map(|run| scope.spawn(move || run.iter().map(work).collect::<Vec<R>>()))
            .collect();
        let mut results = Vec::with_capacity(items.len());
        for worker in workers {
            let run = worker
                .join()
                .map_err(|_| Error::Engine("an embedded engine worker thread panicked".into()))?;
            results.extend(run);
        }
        Ok(results)
    })
}
