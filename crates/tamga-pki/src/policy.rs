//! The certificate-policy tree of RFC 5280 §6.1: initialisation (§6.1.2), certificate
//! processing (§6.1.3 (d)–(f)), policy mappings and constraints between certificates
//! (§6.1.4 (a)–(b), (h)–(j)) and wrap-up with the user's initial policy set (§6.1.5 (a)–(b), (g)).
//! The tree is an arena of nodes with depths and parent links; paths are short, so the
//! linear scans cost nothing.

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5280::ANY_POLICY;

use crate::cert::ParsedCert;

#[derive(Debug, Clone)]
struct Node {
    depth: usize,
    parent: Option<usize>,
    alive: bool,
    policy: ObjectIdentifier,
    expected: Vec<ObjectIdentifier>,
}

/// The §6.1.1 inputs that concern policies.
#[derive(Debug, Clone, Default)]
pub struct PolicyInputs {
    /// `user-initial-policy-set`; empty means {anyPolicy}.
    pub initial_policy_set: Vec<ObjectIdentifier>,
    /// `initial-explicit-policy`.
    pub initial_explicit_policy: bool,
    /// `initial-policy-mapping-inhibit`.
    pub initial_policy_mapping_inhibit: bool,
    /// `initial-any-policy-inhibit`.
    pub initial_any_policy_inhibit: bool,
}

/// The policy state along one path.
#[derive(Debug, Clone)]
pub struct PolicyState {
    nodes: Vec<Node>,
    null: bool,
    explicit_policy: u32,
    policy_mapping: u32,
    inhibit_any_policy: u32,
    n: usize,
}

impl PolicyState {
    /// §6.1.2 for a path of `n` certificates.
    pub fn new(inputs: &PolicyInputs, n: usize) -> Self {
        let start = u32::try_from(n + 1).unwrap_or(u32::MAX);
        Self {
            nodes: vec![Node {
                depth: 0,
                parent: None,
                alive: true,
                policy: ANY_POLICY,
                expected: vec![ANY_POLICY],
            }],
            null: false,
            explicit_policy: if inputs.initial_explicit_policy {
                0
            } else {
                start
            },
            policy_mapping: if inputs.initial_policy_mapping_inhibit {
                0
            } else {
                start
            },
            inhibit_any_policy: if inputs.initial_any_policy_inhibit {
                0
            } else {
                start
            },
            n,
        }
    }

    fn alive_at(&self, depth: usize) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| self.nodes[i].alive && self.nodes[i].depth == depth)
            .collect()
    }

    fn children(&self, parent: usize) -> impl Iterator<Item = usize> + '_ {
        (0..self.nodes.len())
            .filter(move |&i| self.nodes[i].alive && self.nodes[i].parent == Some(parent))
    }

    fn add(&mut self, parent: usize, policy: ObjectIdentifier, expected: Vec<ObjectIdentifier>) {
        let depth = self.nodes[parent].depth + 1;
        self.nodes.push(Node {
            depth,
            parent: Some(parent),
            alive: true,
            policy,
            expected,
        });
    }

    fn delete_subtree(&mut self, node: usize) {
        self.nodes[node].alive = false;
        let kids: Vec<usize> = self.children(node).collect();
        for k in kids {
            self.delete_subtree(k);
        }
    }

    /// Deletes childless nodes of depth `< depth` until none remain; NULL if the root goes.
    fn prune_above(&mut self, depth: usize) {
        loop {
            let mut changed = false;
            for i in 0..self.nodes.len() {
                if self.nodes[i].alive
                    && self.nodes[i].depth < depth
                    && self.children(i).next().is_none()
                {
                    self.nodes[i].alive = false;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        if !self.nodes[0].alive {
            self.null = true;
        }
    }

    /// §6.1.3 (d)–(f) for certificate `i` (1-based). `Err` when no acceptable policy remains
    /// and an explicit policy is required.
    pub fn process(&mut self, cert: &ParsedCert, i: usize) -> Result<(), String> {
        match (&cert.policies, self.null) {
            (Some(policies), false) => {
                let parents = self.alive_at(i - 1);
                let mut has_any = false;
                for info in &policies.0 {
                    let p = info.policy_identifier;
                    if p == ANY_POLICY {
                        has_any = true;
                        continue;
                    }
                    let matching: Vec<usize> = parents
                        .iter()
                        .copied()
                        .filter(|&n| self.nodes[n].expected.contains(&p))
                        .collect();
                    if matching.is_empty() {
                        let any: Vec<usize> = parents
                            .iter()
                            .copied()
                            .filter(|&n| self.nodes[n].policy == ANY_POLICY)
                            .collect();
                        for n in any {
                            self.add(n, p, vec![p]);
                        }
                    } else {
                        for n in matching {
                            self.add(n, p, vec![p]);
                        }
                    }
                }
                if has_any && (self.inhibit_any_policy > 0 || (i < self.n && cert.is_self_issued()))
                {
                    for n in parents {
                        for e in self.nodes[n].expected.clone() {
                            if !self.children(n).any(|c| self.nodes[c].policy == e) {
                                self.add(n, e, vec![e]);
                            }
                        }
                    }
                }
                self.prune_above(i);
            }
            (None, _) => self.null = true,
            (Some(_), true) => {}
        }
        if self.explicit_policy == 0 && self.null {
            return Err("no valid certificate policy, and an explicit policy is required".into());
        }
        Ok(())
    }

    /// §6.1.4 (a)–(b) and (h)–(j) after certificate `i` (1-based), which is not the last.
    pub fn prepare_next(&mut self, cert: &ParsedCert, i: usize) -> Result<(), String> {
        if let Some(mappings) = &cert.policy_mappings {
            if mappings.0.iter().any(|m| {
                m.issuer_domain_policy == ANY_POLICY || m.subject_domain_policy == ANY_POLICY
            }) {
                return Err("policyMappings maps to or from anyPolicy".into());
            }
            let mut issuer_policies: Vec<ObjectIdentifier> =
                mappings.0.iter().map(|m| m.issuer_domain_policy).collect();
            issuer_policies.dedup();
            for idp in issuer_policies {
                let mapped: Vec<ObjectIdentifier> = mappings
                    .0
                    .iter()
                    .filter(|m| m.issuer_domain_policy == idp)
                    .map(|m| m.subject_domain_policy)
                    .collect();
                if self.null {
                    continue;
                }
                let at_i = self.alive_at(i);
                if self.policy_mapping > 0 {
                    let with_idp: Vec<usize> = at_i
                        .iter()
                        .copied()
                        .filter(|&n| self.nodes[n].policy == idp)
                        .collect();
                    if !with_idp.is_empty() {
                        for n in with_idp {
                            self.nodes[n].expected = mapped.clone();
                        }
                    } else if let Some(&any) =
                        at_i.iter().find(|&&n| self.nodes[n].policy == ANY_POLICY)
                        && let Some(parent) = self.nodes[any].parent
                    {
                        self.add(parent, idp, mapped.clone());
                    }
                } else {
                    let doomed: Vec<usize> = at_i
                        .into_iter()
                        .filter(|&n| self.nodes[n].policy == idp)
                        .collect();
                    for n in doomed {
                        self.delete_subtree(n);
                    }
                    self.prune_above(i);
                }
            }
        }
        if !cert.is_self_issued() {
            self.explicit_policy = self.explicit_policy.saturating_sub(1);
            self.policy_mapping = self.policy_mapping.saturating_sub(1);
            self.inhibit_any_policy = self.inhibit_any_policy.saturating_sub(1);
        }
        if let Some(pc) = &cert.policy_constraints {
            if let Some(r) = pc.require_explicit_policy {
                self.explicit_policy = self.explicit_policy.min(r);
            }
            if let Some(m) = pc.inhibit_policy_mapping {
                self.policy_mapping = self.policy_mapping.min(m);
            }
        }
        if let Some(iap) = &cert.inhibit_any_policy {
            self.inhibit_any_policy = self.inhibit_any_policy.min(iap.0);
        }
        Ok(())
    }

    /// §6.1.5 (a), (b) and (g) after the last certificate; returns the valid policies
    /// (`anyPolicy` included when it remains) or an error when an explicit policy is required
    /// and none is valid.
    pub fn finish(
        &mut self,
        last: &ParsedCert,
        inputs: &PolicyInputs,
    ) -> Result<Vec<ObjectIdentifier>, String> {
        self.explicit_policy = self.explicit_policy.saturating_sub(1);
        if last
            .policy_constraints
            .as_ref()
            .is_some_and(|pc| pc.require_explicit_policy == Some(0))
        {
            self.explicit_policy = 0;
        }
        let user_any =
            inputs.initial_policy_set.is_empty() || inputs.initial_policy_set.contains(&ANY_POLICY);
        if !self.null && !user_any {
            let n = self.n;
            let set: Vec<usize> = (0..self.nodes.len())
                .filter(|&i| {
                    self.nodes[i].alive
                        && self.nodes[i]
                            .parent
                            .is_some_and(|p| self.nodes[p].policy == ANY_POLICY)
                })
                .collect();
            for &node in &set {
                let p = self.nodes[node].policy;
                if p != ANY_POLICY && !inputs.initial_policy_set.contains(&p) {
                    self.delete_subtree(node);
                }
            }
            if let Some(any_leaf) = self
                .alive_at(n)
                .into_iter()
                .find(|&i| self.nodes[i].policy == ANY_POLICY)
            {
                if let Some(parent) = self.nodes[any_leaf].parent {
                    for &p in &inputs.initial_policy_set {
                        let present = set
                            .iter()
                            .any(|&s| self.nodes[s].alive && self.nodes[s].policy == p);
                        if !present {
                            self.add(parent, p, vec![p]);
                        }
                    }
                }
                self.nodes[any_leaf].alive = false;
            }
            self.prune_above(n);
        }
        let valid: Vec<ObjectIdentifier> = if self.null {
            Vec::new()
        } else {
            let mut v: Vec<ObjectIdentifier> = self
                .alive_at(self.n)
                .into_iter()
                .map(|i| self.nodes[i].policy)
                .collect();
            v.dedup();
            v
        };
        if self.explicit_policy == 0 && valid.is_empty() {
            return Err("no valid certificate policy at the end of the path, and an explicit policy is required".into());
        }
        Ok(valid)
    }
}
