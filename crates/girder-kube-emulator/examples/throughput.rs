//! Measures how many requests per second the emulator serves to a `kube::Client`:
//! `cargo run -p girder-kube-emulator --example throughput --release`.

use std::time::{Duration, Instant};

use girder_kube_emulator::KubeEmulator;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, PostParams};

const CLIENTS: usize = 8;
const DURATION: Duration = Duration::from_secs(3);

async fn run(
    label: &str,
    cms: &Api<ConfigMap>,
    op: impl Fn(Api<ConfigMap>, usize, usize) -> tokio::task::JoinHandle<bool>,
) {
    let start = Instant::now();
    let mut total = 0usize;
    let mut round = 0usize;
    while start.elapsed() < DURATION {
        let handles: Vec<_> = (0..CLIENTS).map(|i| op(cms.clone(), round, i)).collect();
        for h in handles {
            if h.await.unwrap_or(false) {
                total += 1;
            }
        }
        round += 1;
    }
    let rate = total as f64 / start.elapsed().as_secs_f64();
    println!("{label:<28} {rate:>9.0} requests/s ({CLIENTS} concurrent clients)");
}

#[tokio::main]
async fn main() {
    let emulator = KubeEmulator::start().expect("emulator starts");
    let client = kube::Client::try_from(kube::Config::new(emulator.url().parse().expect("url")))
        .expect("client");
    let cms: Api<ConfigMap> = Api::default_namespaced(client);
    run("create ConfigMap", &cms, |api, round, i| {
        tokio::spawn(async move {
            let cm: ConfigMap = serde_json::from_value(serde_json::json!({"metadata": {"name": format!("cm-{round}-{i}")}, "data": {"k": "v"}})).expect("configmap");
            api.create(&PostParams::default(), &cm).await.is_ok()
        })
    })
    .await;
    run("get ConfigMap", &cms, |api, _, i| {
        tokio::spawn(async move { api.get(&format!("cm-0-{i}")).await.is_ok() })
    })
    .await;
    run("list ConfigMaps (selector)", &cms, |api, _, _| {
        tokio::spawn(async move {
            api.list(&ListParams::default().labels("app=none").limit(10))
                .await
                .is_ok()
        })
    })
    .await;
    emulator.stop();
}
