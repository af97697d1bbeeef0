//! NetworkPolicies between deployments of the program.

use std::collections::BTreeMap;

use girder_core::{Diagnostic, Expr, Stack, Value};

use super::deployment::{DeploymentHandle, Workload};
use super::object::{ObjectDecl, ObjectHandle, object_builder};
use crate::kinds::Kind;

#[derive(Clone, Debug)]
enum Peer {
    Workload(Workload),
    Anywhere,
    Dns,
}

#[derive(Clone, Debug)]
struct Rule {
    peer: Peer,
    ports: Vec<u16>,
}

/// A NetworkPolicy for a deployment's pods: once it exists, only the listed traffic is
/// allowed in (and, with egress rules, out).
///
/// ```
/// use girder_core::Stack;
/// use girder_k8s::dsl::*;
/// let mut s = Stack::new("dev");
/// let r = || Resources::new().cpu("100m", "200m").memory("64Mi", "128Mi");
/// let backend = Deployment::new("backend").image("b:1").port(8080).resources(r()).add(DefaultProvider, &mut s);
/// let frontend = Deployment::new("frontend").image("f:1").port(3000).resources(r()).add(DefaultProvider, &mut s);
/// NetworkPolicy::for_deployment(&backend)
///     .allow_from(&frontend, [8080])
///     .add(&mut s);
/// NetworkPolicy::for_deployment(&frontend)
///     .allow_from_anywhere([3000])
///     .allow_to(&backend, [8080])
///     .allow_dns()
///     .add(&mut s);
/// assert!(s.finish().is_ok());
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder declares nothing until it is added to the stack with `.add(…)`"]
pub struct NetworkPolicy {
    obj: ObjectDecl,
    target: Workload,
    ingress: Vec<Rule>,
    egress: Vec<Rule>,
    deny_egress: bool,
}

object_builder!(NetworkPolicy);

impl NetworkPolicy {
    /// A policy for `deployment`'s pods, named `DEPLOYMENT-policy`; with no rules it denies
    /// all ingress.
    pub fn for_deployment(deployment: &DeploymentHandle) -> NetworkPolicy {
        let target = deployment.workload.clone();
        let mut obj = ObjectDecl::new(
            Kind::new("networking.k8s.io", "v1", "NetworkPolicy"),
            format!("{}-policy", target.added.name),
        );
        obj.namespace = target.added.namespace.clone();
        NetworkPolicy {
            obj,
            target,
            ingress: Vec::new(),
            egress: Vec::new(),
            deny_egress: false,
        }
    }

    /// Names the policy.
    pub fn name(mut self, name: impl Into<String>) -> NetworkPolicy {
        self.obj.name = name.into();
        self
    }

    /// Allows `from`'s pods (same namespace) to connect to these ports of the target's pods
    /// (which must be declared container ports).
    pub fn allow_from(
        mut self,
        from: &DeploymentHandle,
        ports: impl IntoIterator<Item = u16>,
    ) -> NetworkPolicy {
        self.ingress.push(Rule {
            peer: Peer::Workload(from.workload.clone()),
            ports: ports.into_iter().collect(),
        });
        self
    }

    /// Allows connections from anywhere (a load balancer, an ingress controller) to these
    /// ports.
    pub fn allow_from_anywhere(mut self, ports: impl IntoIterator<Item = u16>) -> NetworkPolicy {
        self.ingress.push(Rule {
            peer: Peer::Anywhere,
            ports: ports.into_iter().collect(),
        });
        self
    }

    /// Allows the target's pods to connect to `to`'s pods on these ports; egress becomes
    /// restricted to the listed destinations.
    pub fn allow_to(
        mut self,
        to: &DeploymentHandle,
        ports: impl IntoIterator<Item = u16>,
    ) -> NetworkPolicy {
        self.egress.push(Rule {
            peer: Peer::Workload(to.workload.clone()),
            ports: ports.into_iter().collect(),
        });
        self
    }

    /// Allows DNS lookups (port 53, UDP and TCP) when egress is restricted.
    pub fn allow_dns(mut self) -> NetworkPolicy {
        self.egress.push(Rule {
            peer: Peer::Dns,
            ports: vec![53],
        });
        self
    }

    /// Denies all egress not allowed by `allow_to` / `allow_dns`.
    pub fn deny_egress(mut self) -> NetworkPolicy {
        self.deny_egress = true;
        self
    }

    fn rule_expr(rule: &Rule, direction: &str) -> Expr {
        let mut out = BTreeMap::new();
        let peer_key = if direction == "ingress" { "from" } else { "to" };
        match &rule.peer {
            Peer::Workload(workload) => {
                let mut selector = BTreeMap::new();
                selector.insert(
                    "matchLabels".to_owned(),
                    workload.selector_output().into_expr(),
                );
                let mut peer = BTreeMap::new();
                peer.insert("podSelector".to_owned(), Expr::Object(selector));
                out.insert(peer_key.to_owned(), Expr::Array(vec![Expr::Object(peer)]));
            }
            Peer::Anywhere => {}
            Peer::Dns => {
                out.insert(
                    peer_key.to_owned(),
                    Expr::Value(Value::Array(vec![girder_core::object! {
                        "namespaceSelector" => Value::object(),
                        "podSelector" => girder_core::object! {
                            "matchLabels" => girder_core::object! { "k8s-app" => "kube-dns" },
                        },
                    }])),
                );
            }
        }
        if !rule.ports.is_empty() {
            let protocols: &[&str] = if matches!(rule.peer, Peer::Dns) {
                &["UDP", "TCP"]
            } else {
                &["TCP"]
            };
            let ports: Vec<Value> = rule
                .ports
                .iter()
                .flat_map(|p| {
                    protocols.iter().map(
                        move |proto| girder_core::object! { "port" => *p, "protocol" => *proto },
                    )
                })
                .collect();
            out.insert("ports".to_owned(), Expr::Value(Value::Array(ports)));
        }
        Expr::Object(out)
    }

    /// Adds it to the stack, with the deployment's provider.
    pub fn add(mut self, stack: &mut Stack) -> ObjectHandle {
        let resource = self.obj.node_name();
        let declared: Vec<u16> = self
            .target
            .containers
            .iter()
            .flat_map(|c| c.ports.iter().map(|p| p.port))
            .collect();
        for (i, rule) in self.ingress.iter().enumerate() {
            for port in rule.ports.iter().filter(|p| !declared.contains(p)) {
                stack.report(
                    Diagnostic::error(format!(
                        "the policy allows traffic to port {port} of `{}`, which declares no such container port (it declares {})",
                        self.target.resource,
                        self.target.ports_text()
                    ))
                    .resource(resource.clone())
                    .field(format!("spec.ingress[{i}].ports"))
                    .value(port)
                    .fix("allow the container ports the deployment declares (NetworkPolicies match pod ports, not Service ports)"),
                );
            }
        }
        for (i, rule) in self.egress.iter().enumerate() {
            if let Peer::Workload(to) = &rule.peer {
                let declared: Vec<u16> = to
                    .containers
                    .iter()
                    .flat_map(|c| c.ports.iter().map(|p| p.port))
                    .collect();
                for port in rule.ports.iter().filter(|p| !declared.contains(p)) {
                    stack.report(
                        Diagnostic::error(format!(
                            "the policy allows traffic to port {port} of `{}`, which declares no such container port (it declares {})",
                            to.resource,
                            to.ports_text()
                        ))
                        .resource(resource.clone())
                        .field(format!("spec.egress[{i}].ports"))
                        .value(port)
                        .fix("allow the destination's container ports (not its Service ports)"),
                    );
                }
            }
        }
        let mut selector = BTreeMap::new();
        selector.insert(
            "matchLabels".to_owned(),
            self.target.selector_output().into_expr(),
        );
        let mut spec = BTreeMap::new();
        spec.insert("podSelector".to_owned(), Expr::Object(selector));
        let mut types = vec!["Ingress"];
        spec.insert(
            "ingress".to_owned(),
            Expr::Array(
                self.ingress
                    .iter()
                    .map(|r| Self::rule_expr(r, "ingress"))
                    .collect(),
            ),
        );
        if !self.egress.is_empty() || self.deny_egress {
            types.push("Egress");
            spec.insert(
                "egress".to_owned(),
                Expr::Array(
                    self.egress
                        .iter()
                        .map(|r| Self::rule_expr(r, "egress"))
                        .collect(),
                ),
            );
        }
        spec.insert("policyTypes".to_owned(), Expr::Value(Value::from(types)));
        self.obj.body.insert("spec".into(), Expr::Object(spec));
        let provider = self.target.added.provider;
        ObjectHandle::new(self.obj.add_object(provider, stack))
    }
}
