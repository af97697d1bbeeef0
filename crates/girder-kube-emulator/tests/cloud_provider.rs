//! The service controller with a cloud provider: the load-balancer-cleanup finalizer, the
//! provider's hostname in the status, deletes after the configured delay on the emulator's
//! clock, failures retried without losing the finalizer, and `sync_cluster` seeing changes.

mod common;

use std::sync::Mutex;
use std::time::Duration;

use common::{client, eventually};
use girder_kube_emulator::{
    CloudError, CloudProvider, ClusterView, EmulatorConfig, KubeEmulator, LOAD_BALANCER_FINALIZER,
    LoadBalancerService, LoadBalancerStatus, ManualClock,
};
use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;

const DEADLINE: Duration = Duration::from_secs(60);

/// A cloud that records what it is asked and fails as told.
#[derive(Debug, Default)]
struct FakeCloud {
    calls: Mutex<Vec<String>>,
    /// Deletes to refuse before one succeeds.
    failing_deletes: Mutex<u32>,
    /// The names of the Services in the last view `sync_cluster` saw.
    last_view: Mutex<Vec<String>>,
}

impl FakeCloud {
    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl CloudProvider for FakeCloud {
    async fn ensure_load_balancer(
        &self,
        service: &LoadBalancerService,
    ) -> Result<LoadBalancerStatus, CloudError> {
        let ports: Vec<String> = service.ports.iter().map(|p| p.port.to_string()).collect();
        self.calls.lock().unwrap().push(format!(
            "ensure {}/{} {}",
            service.namespace,
            service.name,
            ports.join(",")
        ));
        Ok(LoadBalancerStatus {
            hostname: format!("{}.elb.fake", service.name),
        })
    }

    async fn delete_load_balancer(&self, service: &LoadBalancerService) -> Result<(), CloudError> {
        let mut failing = self.failing_deletes.lock().unwrap();
        let outcome = if *failing > 0 { "refused" } else { "done" };
        self.calls.lock().unwrap().push(format!(
            "delete {}/{} {outcome}",
            service.namespace, service.name
        ));
        if *failing > 0 {
            *failing -= 1;
            return Err(CloudError::Api {
                operation: "DeleteSecurityGroup".into(),
                code: "DependencyViolation".into(),
                message: "resource has a dependent object".into(),
            });
        }
        Ok(())
    }

    async fn sync_cluster(&self, view: &ClusterView) -> Result<(), CloudError> {
        *self.last_view.lock().unwrap() = view
            .services
            .iter()
            .filter_map(|s| s.pointer("/metadata/name")?.as_str().map(str::to_owned))
            .collect();
        Ok(())
    }
}

fn load_balancer(name: &str) -> Service {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name},
        "spec": {"type": "LoadBalancer", "selector": {"app": name},
                 "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}
    }))
    .unwrap()
}

fn hostname(svc: &Service) -> Option<String> {
    svc.status
        .as_ref()?
        .load_balancer
        .as_ref()?
        .ingress
        .as_ref()?
        .first()?
        .hostname
        .clone()
}

fn finalizers(svc: &Service) -> Vec<String> {
    svc.metadata.finalizers.clone().unwrap_or_default()
}

#[tokio::test]
async fn load_balancers_come_from_the_provider_and_go_before_their_service() {
    let cloud = std::sync::Arc::new(FakeCloud::default());
    *cloud.failing_deletes.lock().unwrap() = 2;
    let clock = ManualClock::starting_now();
    let emulator = KubeEmulator::builder()
        .config(EmulatorConfig {
            lb_deletion_delay: Duration::from_secs(30),
            ..EmulatorConfig::default()
        })
        .clock(clock.clone())
        .cloud_provider_arc(cloud.clone())
        .start()
        .unwrap();
    let services: Api<Service> = Api::namespaced(client(&emulator).await, "default");
    services
        .create(&PostParams::default(), &load_balancer("web"))
        .await
        .unwrap();

    let svc = eventually(DEADLINE, "the provider's hostname", || {
        let services = services.clone();
        async move {
            let svc = services.get("web").await.unwrap();
            hostname(&svc).is_some().then_some(svc)
        }
    })
    .await;
    assert_eq!(hostname(&svc).as_deref(), Some("web.elb.fake"));
    assert_eq!(finalizers(&svc), vec![LOAD_BALANCER_FINALIZER.to_owned()]);
    assert_eq!(cloud.calls(), vec!["ensure default/web 80"]);
    eventually(DEADLINE, "sync_cluster to see the Service", || {
        let seen = cloud.last_view.lock().unwrap().clone();
        async move { seen.contains(&"web".to_owned()).then_some(()) }
    })
    .await;

    // A changed port is ensured again.
    services
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"spec": {"ports": [{"name": "http", "port": 81, "targetPort": 8080}]}}),
            ),
        )
        .await
        .unwrap();
    eventually(DEADLINE, "the load balancer updated", || {
        let calls = cloud.calls();
        async move {
            calls
                .contains(&"ensure default/web 81".to_owned())
                .then_some(())
        }
    })
    .await;

    // Deleted: the Service stays, finalized, until the delay has passed on the emulator's
    // clock and the provider's delete succeeded.
    services
        .delete("web", &DeleteParams::default())
        .await
        .unwrap();
    let svc = services.get("web").await.unwrap();
    assert!(svc.metadata.deletion_timestamp.is_some());
    assert!(!cloud.calls().iter().any(|c| c.starts_with("delete")));
    clock.advance(Duration::from_secs(31));
    eventually(DEADLINE, "the Service to go", || {
        let services = services.clone();
        async move {
            services
                .get_opt("web")
                .await
                .unwrap()
                .is_none()
                .then_some(())
        }
    })
    .await;
    let deletes: Vec<String> = cloud
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("delete"))
        .collect();
    assert_eq!(
        deletes,
        vec![
            "delete default/web refused",
            "delete default/web refused",
            "delete default/web done"
        ]
    );
}

#[tokio::test]
async fn a_service_that_stops_being_a_load_balancer_loses_its_load_balancer() {
    let cloud = std::sync::Arc::new(FakeCloud::default());
    let emulator = KubeEmulator::builder()
        .cloud_provider_arc(cloud.clone())
        .start()
        .unwrap();
    let services: Api<Service> = Api::namespaced(client(&emulator).await, "default");
    services
        .create(&PostParams::default(), &load_balancer("api"))
        .await
        .unwrap();
    eventually(DEADLINE, "the hostname", || {
        let services = services.clone();
        async move { hostname(&services.get("api").await.unwrap()) }
    })
    .await;
    services
        .patch(
            "api",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"type": "ClusterIP"}})),
        )
        .await
        .unwrap();
    let svc = eventually(DEADLINE, "the finalizer dropped", || {
        let services = services.clone();
        async move {
            let svc = services.get("api").await.unwrap();
            finalizers(&svc).is_empty().then_some(svc)
        }
    })
    .await;
    assert_eq!(hostname(&svc), None);
    assert_eq!(
        cloud.calls(),
        vec!["ensure default/api 80", "delete default/api done"]
    );
}

#[tokio::test]
async fn without_a_provider_load_balancers_get_made_up_hostnames_and_no_finalizer() {
    let emulator = KubeEmulator::start().unwrap();
    let services: Api<Service> = Api::namespaced(client(&emulator).await, "default");
    services
        .create(&PostParams::default(), &load_balancer("plain"))
        .await
        .unwrap();
    let svc = eventually(DEADLINE, "the hostname", || {
        let services = services.clone();
        async move {
            let svc = services.get("plain").await.unwrap();
            hostname(&svc).is_some().then_some(svc)
        }
    })
    .await;
    assert!(
        hostname(&svc)
            .unwrap()
            .ends_with(".lb.girder-emulator.invalid")
    );
    assert!(finalizers(&svc).is_empty());
}
