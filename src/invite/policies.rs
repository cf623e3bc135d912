//! The policies a service offers, and which one a channel uses.

use std::collections::HashMap;
use std::sync::Arc;

use super::policy::InvitePolicy;

/// Every configured policy by name, plus the service default.
#[derive(Debug, Clone)]
pub struct Policies {
    by_name: HashMap<&'static str, Arc<dyn InvitePolicy>>,
    default: Arc<dyn InvitePolicy>,
}

impl Policies {
    /// Policies `all`, with `default` used by channels that name none (or
    /// one that is not offered).
    pub fn new(all: Vec<Arc<dyn InvitePolicy>>, default: &str) -> Option<Self> {
        let by_name: HashMap<_, _> = all.into_iter().map(|p| (p.name(), p)).collect();
        let default = by_name.get(default)?.clone();
        Some(Self { by_name, default })
    }

    /// A single policy, which is also the default.
    pub fn only(policy: Arc<dyn InvitePolicy>) -> Self {
        let name = policy.name();
        Self {
            by_name: HashMap::from([(name, policy.clone())]),
            default: policy,
        }
    }

    /// The policy a channel that names `name` uses.
    pub fn for_channel(&self, name: Option<&str>) -> Arc<dyn InvitePolicy> {
        name.and_then(|n| self.by_name.get(n))
            .unwrap_or(&self.default)
            .clone()
    }
}
