//! The few rosters each thread keeps, most recent first: the lists read from a task's JSON
//! (`wire::ExecutionContext::into_context`) and the words the analyzer derives from them
//! (`pipeline::analyzer::roster`). One orchestrator sends one roster; a few cover a planner
//! that several share.

/// Rosters each thread keeps, in each of the two caches.
pub(crate) const RECENT_ROSTERS: usize = 4;

/// At most [`RECENT_ROSTERS`] values, most recent first.
#[derive(Debug)]
pub(crate) struct Recent<T>(Vec<T>);

impl<T> Recent<T> {
    pub(crate) const fn new() -> Self {
        Recent(Vec::new())
    }

    /// The first value `matches` accepts, moved to the front.
    pub(crate) fn find(&mut self, matches: impl FnMut(&T) -> bool) -> Option<&T> {
        let at = self.0.iter().position(matches)?;
        self.0[..=at].rotate_right(1);
        self.0.first()
    }

    /// Keeps `value` first, forgetting the oldest past [`RECENT_ROSTERS`].
    pub(crate) fn keep(&mut self, value: T) {
        self.0.insert(0, value);
        self.0.truncate(RECENT_ROSTERS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_found_moves_to_the_front_and_the_oldest_is_forgotten() {
        let mut r = Recent::new();
        for n in 0..RECENT_ROSTERS {
            r.keep(n);
        }
        assert_eq!(r.find(|&v| v == 0), Some(&0));
        assert_eq!(r.0, [0, 3, 2, 1]);
        r.keep(9);
        assert_eq!(r.0, [9, 0, 3, 2]);
        assert_eq!(r.find(|&v| v == 1), None);
    }
}
