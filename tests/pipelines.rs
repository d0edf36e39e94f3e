//! Runs every example in `pipelines/` as a user would and checks that its
//! output contains each `# expect: REGEX` line the script declares.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const PER_SCRIPT_TIMEOUT: Duration = Duration::from_secs(240);

fn expectations(script: &str) -> Vec<String> {
    script
        .lines()
        .filter_map(|l| l.strip_prefix("# expect: "))
        .map(str::to_string)
        .collect()
}

fn run_script(path: &Path) -> String {
    let started = Instant::now();
    let output = Command::new("timeout")
        .arg(PER_SCRIPT_TIMEOUT.as_secs().to_string())
        .arg("bash")
        .arg(path)
        .env("GSTDL_PLUGIN_DIR", common::root().join("target/debug"))
        .output()
        .expect("bash runs");
    let text = common::printed(&output);
    assert!(
        output.status.success(),
        "{} failed ({:?}) after {:?}:\n{text}",
        path.display(),
        output.status,
        started.elapsed()
    );
    text
}

#[test]
fn every_example_pipeline_runs_and_prints_what_it_promises() {
    common::data("media"); // set-up ran
    let mut scripts: Vec<_> = std::fs::read_dir(common::root().join("pipelines"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sh") && !p.ends_with("env.sh"))
        .collect();
    scripts.sort();
    assert!(!scripts.is_empty());
    for script in scripts {
        let source = std::fs::read_to_string(&script).unwrap();
        let expected = expectations(&source);
        assert!(
            !expected.is_empty(),
            "{} declares no '# expect:' line",
            script.display()
        );
        let output = run_script(&script);
        for pattern in expected {
            let matcher = regex_lite::Regex::new(&pattern)
                .unwrap_or_else(|e| panic!("bad pattern {pattern}: {e}"));
            assert!(
                matcher.is_match(&output),
                "{}: no match for {pattern} in:\n{output}",
                script.display()
            );
        }
    }
}
