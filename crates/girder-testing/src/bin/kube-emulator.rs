//! `kube-emulator`: runs girder's in-memory Kubernetes API emulator on 127.0.0.1 until
//! SIGTERM or SIGINT (`--port N` with 0 for a free port, `--kubeconfig-out FILE`,
//! `--failing-image PATTERN`, `--https`, `--admin-token`, `--eks-cluster` with
//! `--sts-endpoint` and `--access-entries`; `--help` lists them all). It prints its URL on
//! stdout. See the `girder-kube-emulator`
//! crate for what it emulates and what it does not.

fn main() -> std::process::ExitCode {
    girder_kube_emulator::cli_main()
}
