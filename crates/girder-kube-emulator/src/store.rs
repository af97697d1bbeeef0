//! The in-memory object store: objects as JSON values in a `BTreeMap` keyed by
//! (group, resource, namespace, name), a global `resourceVersion` counter, and the event
//! history and broadcast channel that watches read from.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};
use tokio::sync::{Notify, broadcast};

use crate::clock::Clock;
use crate::config::EmulatorConfig;
use crate::object::{self, meta_mut};
use crate::resources::Registry;

/// Where an object is stored: (group, plural resource, namespace or `""`, name).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct ObjKey {
    pub group: String,
    pub resource: String,
    pub namespace: String,
    pub name: String,
}

impl ObjKey {
    /// Builds a key.
    pub fn new(group: &str, resource: &str, namespace: &str, name: &str) -> Self {
        ObjKey {
            group: group.into(),
            resource: resource.into(),
            namespace: namespace.into(),
            name: name.into(),
        }
    }
}

/// The kind of a watch event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    /// `ADDED`, `MODIFIED`, `DELETED`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One change to one object.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    pub kind: EventType,
    pub rv: u64,
    pub key: ObjKey,
    pub object: Value,
}

/// The events a new watch replays, and the receiver for the ones after them.
pub(crate) type Subscription = (Vec<Arc<Event>>, broadcast::Receiver<Arc<Event>>);

/// How many past events a watch can start from.
const HISTORY: usize = 20_000;

/// Everything behind the store's lock.
#[derive(Debug)]
pub(crate) struct State {
    pub objects: BTreeMap<ObjKey, Value>,
    pub rv: u64,
    pub registry: Registry,
    pub config: Arc<EmulatorConfig>,
    /// The wall clock of time-based behaviour that tests drive (namespace termination).
    pub clock: Arc<dyn Clock>,
    history: VecDeque<Arc<Event>>,
    events: broadcast::Sender<Arc<Event>>,
    cluster_ips: BTreeSet<u32>,
    node_ports: BTreeSet<u16>,
    next_ip: u32,
    /// The cloud service controller's work and memory (controllers/cloud.rs).
    pub cloud: crate::controllers::cloud::CloudWork,
    /// When the deletion of each terminating object was requested, on `clock`, by uid: delays
    /// that count from a deletion (a namespace's, a load balancer's) count from the request,
    /// not from whenever a controller pass first saw it, which may come after a test (or a
    /// busy machine) has moved the clock on.
    pub deleted_at: std::collections::HashMap<String, std::time::SystemTime>,
}

/// The shared store: state behind a mutex plus a notifier the controllers wait on.
#[derive(Debug)]
pub(crate) struct Store {
    state: Mutex<State>,
    /// Signalled after every committed change.
    pub changed: Notify,
    /// Signalled after a controller pass when a cloud provider is set: its task has work.
    pub cloud_wake: Notify,
}

/// 10.96.0.0/12: the service cluster IP range.
const SERVICE_NET: u32 = 0x0a60_0000;
const SERVICE_NET_SIZE: u32 = 1 << 20;

impl Store {
    /// A store with the default namespaces and one node.
    pub fn new(config: Arc<EmulatorConfig>, clock: Arc<dyn Clock>) -> Arc<Self> {
        let (events, _) = broadcast::channel(8192);
        let mut state = State {
            objects: BTreeMap::new(),
            rv: 0,
            registry: Registry::new(),
            config,
            clock,
            history: VecDeque::new(),
            events,
            cluster_ips: BTreeSet::new(),
            node_ports: BTreeSet::new(),
            next_ip: 10,
            cloud: Default::default(),
            deleted_at: Default::default(),
        };
        // 10.96.0.1 (kubernetes) and 10.96.0.10 (kube-dns) are reserved as in real clusters.
        state.cluster_ips.insert(SERVICE_NET + 1);
        state.cluster_ips.insert(SERVICE_NET + 10);
        for ns in ["default", "kube-system", "kube-public"] {
            let obj = json!({
                "apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": ns, "uid": uuid::Uuid::new_v4().to_string(), "creationTimestamp": object::now_rfc3339(),
                              "labels": {"kubernetes.io/metadata.name": ns}},
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"}
            });
            state.put(ObjKey::new("", "namespaces", "", ns), obj, true);
        }
        let kubelet_version = state.config.server_version.clone();
        let node = json!({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": crate::controllers::NODE_NAME, "uid": uuid::Uuid::new_v4().to_string(), "creationTimestamp": object::now_rfc3339(),
                          "labels": {"kubernetes.io/hostname": crate::controllers::NODE_NAME, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}},
            "spec": {},
            "status": {
                "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "emulated node is always ready"}],
                "addresses": [{"type": "InternalIP", "address": "10.0.0.10"}, {"type": "Hostname", "address": crate::controllers::NODE_NAME}],
                "capacity": {"cpu": "64", "memory": "256Gi", "pods": "1k"},
                "allocatable": {"cpu": "64", "memory": "256Gi", "pods": "1k"},
                "nodeInfo": {"kubeletVersion": kubelet_version, "operatingSystem": "linux", "architecture": "amd64",
                             "containerRuntimeVersion": "emulated://0", "osImage": "girder-kube-emulator"}
            }
        });
        state.put(
            ObjKey::new("", "nodes", "", crate::controllers::NODE_NAME),
            node,
            true,
        );
        Arc::new(Store {
            state: Mutex::new(state),
            changed: Notify::new(),
            cloud_wake: Notify::new(),
        })
    }

    /// Locks the state (a poisoned lock is recovered: the state is plain data).
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl State {
    /// The object at a key.
    pub fn get(&self, key: &ObjKey) -> Option<&Value> {
        self.objects.get(key)
    }

    /// Objects of one (group, resource), optionally in one namespace, in key order.
    pub fn list(
        &self,
        group: &str,
        resource: &str,
        namespace: Option<&str>,
    ) -> Vec<(&ObjKey, &Value)> {
        let start = ObjKey::new(group, resource, namespace.unwrap_or(""), "");
        self.objects
            .range(start..)
            .take_while(|(k, _)| {
                k.group == group
                    && k.resource == resource
                    && namespace.is_none_or(|ns| k.namespace == ns)
            })
            .collect()
    }

    /// Stores an object under a fresh resourceVersion and records the event. Returns the
    /// stored object.
    pub fn put(&mut self, key: ObjKey, mut obj: Value, created: bool) -> Value {
        self.rv += 1;
        meta_mut(&mut obj).insert("resourceVersion".into(), Value::from(self.rv.to_string()));
        self.objects.insert(key.clone(), obj.clone());
        let kind = if created {
            EventType::Added
        } else {
            EventType::Modified
        };
        self.record(kind, key, obj.clone());
        obj
    }

    /// Removes an object now (no finalizer checks) and records the event.
    pub fn remove(&mut self, key: &ObjKey) -> Option<Value> {
        let mut obj = self.objects.remove(key)?;
        self.deleted_at.remove(crate::object::uid(&obj));
        self.rv += 1;
        meta_mut(&mut obj).insert("resourceVersion".into(), Value::from(self.rv.to_string()));
        if key.group.is_empty() && key.resource == "services" {
            self.release_service_addresses(&obj);
        }
        if key.group == "apiextensions.k8s.io" && key.resource == "customresourcedefinitions" {
            self.registry.unregister_crd(&key.name);
            let group = obj
                .pointer("/spec/group")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let plural = obj
                .pointer("/spec/names/plural")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let keys: Vec<ObjKey> = self
                .list(&group, &plural, None)
                .into_iter()
                .map(|(k, _)| k.clone())
                .collect();
            for k in keys {
                self.remove(&k);
            }
        }
        self.record(EventType::Deleted, key.clone(), obj.clone());
        Some(obj)
    }

    fn record(&mut self, kind: EventType, key: ObjKey, object: Value) {
        let event = Arc::new(Event {
            kind,
            rv: self.rv,
            key,
            object,
        });
        if self.history.len() >= HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(event.clone());
        // No receivers is fine: nobody is watching.
        let _ = self.events.send(event);
    }

    /// Events after `rv` plus a receiver for later ones, taken atomically; `Err` when `rv` is
    /// older than the kept history.
    pub fn watch_from(&self, rv: u64) -> Result<Subscription, u64> {
        let oldest = self.history.front().map(|e| e.rv).unwrap_or(self.rv + 1);
        if rv + 1 < oldest && rv < self.rv {
            return Err(oldest);
        }
        let backlog = self.history.iter().filter(|e| e.rv > rv).cloned().collect();
        Ok((backlog, self.events.subscribe()))
    }

    /// Allocates a free cluster IP from 10.96.0.0/12.
    pub fn allocate_cluster_ip(&mut self) -> Option<String> {
        for _ in 0..SERVICE_NET_SIZE {
            let candidate = SERVICE_NET + self.next_ip;
            self.next_ip = (self.next_ip % (SERVICE_NET_SIZE - 2)) + 1;
            if self.cluster_ips.insert(candidate) {
                return Some(std::net::Ipv4Addr::from(candidate).to_string());
            }
        }
        None
    }

    /// Claims a specific cluster IP; false if taken or outside the range.
    pub fn claim_cluster_ip(&mut self, ip: &str) -> bool {
        match ip.parse::<std::net::Ipv4Addr>() {
            Ok(addr) => {
                let n = u32::from(addr);
                (SERVICE_NET..SERVICE_NET + SERVICE_NET_SIZE).contains(&n)
                    && self.cluster_ips.insert(n)
            }
            Err(_) => false,
        }
    }

    /// Allocates a free node port in 30000-32767.
    pub fn allocate_node_port(&mut self) -> Option<u16> {
        (30000..=32767).find(|p| self.node_ports.insert(*p))
    }

    /// Claims a specific node port.
    pub fn claim_node_port(&mut self, port: u16) -> bool {
        (30000..=32767).contains(&port) && self.node_ports.insert(port)
    }

    fn release_service_addresses(&mut self, svc: &Value) {
        if let Some(ips) = svc.pointer("/spec/clusterIPs").and_then(Value::as_array) {
            for ip in ips.iter().filter_map(Value::as_str) {
                if let Ok(addr) = ip.parse::<std::net::Ipv4Addr>() {
                    self.cluster_ips.remove(&u32::from(addr));
                }
            }
        }
        if let Some(ports) = svc.pointer("/spec/ports").and_then(Value::as_array) {
            for p in ports
                .iter()
                .filter_map(|p| p.get("nodePort"))
                .filter_map(Value::as_u64)
            {
                if let Ok(p) = u16::try_from(p) {
                    self.node_ports.remove(&p);
                }
            }
        }
    }
}
