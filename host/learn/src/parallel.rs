//! Deterministic data parallelism: work split over scoped threads, results in item order,
//! so a computation gives the same numbers on any number of threads.

/// `f` of every item, computed on up to `threads` scoped threads (item `i` on thread
/// `i % threads`), returned in item order. One thread (or one item) runs on the caller's.
pub fn map<T: Sync, R: Send>(items: &[T], threads: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = threads.min(items.len()).max(1);
    if threads == 1 {
        return items.iter().map(f).collect();
    }
    let f = &f;
    let mut slots: Vec<Option<R>> = std::iter::repeat_with(|| None).take(items.len()).collect();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|worker| {
                scope.spawn(move || {
                    items
                        .iter()
                        .enumerate()
                        .skip(worker)
                        .step_by(threads)
                        .map(|(at, item)| (at, f(item)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for worker in workers {
            match worker.join() {
                Ok(results) => {
                    for (at, result) in results {
                        slots[at] = Some(result);
                    }
                }
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
    });
    slots
        .into_iter()
        .map(|slot| slot.expect("every item is computed by one worker"))
        .collect()
}

/// `f` of every item, mutably, on up to `threads` scoped threads (contiguous chunks),
/// returned in item order. One thread (or one item) runs on the caller's.
pub fn map_mut<T: Send, R: Send>(
    items: &mut [T],
    threads: usize,
    f: impl Fn(&mut T) -> R + Sync,
) -> Vec<R> {
    let threads = threads.min(items.len()).max(1);
    if threads == 1 {
        return items.iter_mut().map(f).collect();
    }
    let f = &f;
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let workers: Vec<_> = items
            .chunks_mut(chunk)
            .map(|part| scope.spawn(move || part.iter_mut().map(f).collect::<Vec<R>>()))
            .collect();
        let mut results = Vec::new();
        for worker in workers {
            match worker.join() {
                Ok(part) => results.extend(part),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        results
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_item_order_for_any_thread_count() {
        let items: Vec<u64> = (0..23).collect();
        let expected: Vec<u64> = items.iter().map(|i| i * i).collect();
        for threads in [1, 2, 3, 8, 64] {
            assert_eq!(
                map(&items, threads, |i| i * i),
                expected,
                "{threads} threads"
            );
        }
        assert!(map(&[] as &[u64], 4, |i| *i).is_empty());
    }

    #[test]
    fn mutable_results_come_back_in_item_order_for_any_thread_count() {
        for threads in [1, 2, 3, 8, 64] {
            let mut items: Vec<u64> = (0..23).collect();
            let doubled = map_mut(&mut items, threads, |i| {
                *i *= 2;
                *i + 1
            });
            assert_eq!(items, (0..23).map(|i| i * 2).collect::<Vec<_>>());
            assert_eq!(doubled, (0..23).map(|i| i * 2 + 1).collect::<Vec<_>>());
        }
    }
}
