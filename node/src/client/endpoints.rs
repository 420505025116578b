//! Which nodes a client knows and in what order it dials them.
//!
//! The configured addresses come first, in order; addresses learned from the cluster
//! roster (`get_cluster_metadata`) are appended. The leader, when known, is dialed
//! first; the rest rotate so that consecutive reconnects start at different nodes.

/// The node list of one client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    known: Vec<String>,
    leader: Option<String>,
    cursor: usize,
}

/// Most addresses a client remembers (seeds plus roster); a roster larger than this
/// is truncated.
pub const ENDPOINTS_MAX: usize = 64;

impl Endpoints {
    /// Starts from the configured addresses (duplicates dropped).
    #[must_use]
    pub fn new(seeds: &[String]) -> Self {
        let mut endpoints = Self { known: Vec::new(), leader: None, cursor: 0 };
        for seed in seeds {
            endpoints.add(seed);
        }
        endpoints
    }

    fn add(&mut self, address: &str) {
        if self.known.len() < ENDPOINTS_MAX && !self.known.iter().any(|known| known == address) {
            self.known.push(address.to_owned());
        }
    }

    /// Every known address.
    #[must_use]
    pub fn known(&self) -> &[String] {
        &self.known
    }

    /// The leader, if the roster named one.
    #[must_use]
    pub fn leader(&self) -> Option<&str> {
        self.leader.as_deref()
    }

    /// Records a roster: its addresses join the list; `leader` replaces the hint.
    pub fn learn(&mut self, roster: &[String], leader: Option<&str>) {
        for address in roster {
            self.add(address);
        }
        if let Some(leader) = leader {
            self.add(leader);
        }
        self.leader = leader.map(str::to_owned);
    }

    /// Forgets the leader hint (it stopped answering or refused a request).
    pub fn forget_leader(&mut self) {
        self.leader = None;
    }

    /// The dial order for one connect pass: the leader first, then every other
    /// address starting one further than last time.
    pub fn dial_order(&mut self) -> Vec<String> {
        let count = self.known.len();
        let mut order = Vec::with_capacity(count);
        if let Some(leader) = &self.leader {
            order.push(leader.clone());
        }
        for step in 0..count {
            let address = &self.known[(self.cursor + step) % count];
            if Some(address) != self.leader.as_ref() {
                order.push(address.clone());
            }
        }
        if count > 0 {
            self.cursor = (self.cursor + 1) % count;
        }
        order
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|value| (*value).to_owned()).collect()
    }

    #[test]
    fn rotates_and_puts_the_leader_first() {
        let mut endpoints = Endpoints::new(&strings(&["a", "b", "a", "c"]));
        assert_eq!(endpoints.known(), strings(&["a", "b", "c"]).as_slice());
        assert_eq!(endpoints.dial_order(), strings(&["a", "b", "c"]));
        assert_eq!(endpoints.dial_order(), strings(&["b", "c", "a"]));
        endpoints.learn(&strings(&["c", "d"]), Some("c"));
        assert_eq!(endpoints.dial_order(), strings(&["c", "d", "a", "b"]));
        endpoints.forget_leader();
        assert_eq!(endpoints.dial_order(), strings(&["d", "a", "b", "c"]));
    }

    #[test]
    fn the_list_is_bounded() {
        let many: Vec<String> = (0..200).map(|i| format!("n{i}:1")).collect();
        let mut endpoints = Endpoints::new(&[]);
        endpoints.learn(&many, None);
        assert_eq!(endpoints.known().len(), ENDPOINTS_MAX);
        assert!(Endpoints::new(&[]).dial_order().is_empty());
    }
}
