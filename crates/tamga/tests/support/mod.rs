//! Helpers shared by integration tests and benches.
pub mod exchange;

/// Runs the `tamga` binary in `dir` with `env`; returns (exit code, stdout, stderr).
#[allow(dead_code)]
pub fn run_tamga(
    dir: &std::path::Path,
    env: &[(&str, &str)],
    args: &[&str],
) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tamga"))
        .args(args)
        .current_dir(dir)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
