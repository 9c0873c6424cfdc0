//! What a report says about how its run was made, beyond the scenario: the
//! loadgen version, the scenario file, the duration scale, the flags that
//! overrode the scenario and the machine.
//! The console header, the JSON `run` object and the HTML report's run table
//! show it, so that two reports can be told apart and compared fairly.
//!
//! [`RunMetadata::of_this_machine`] reads the machine once (hostname, CPU
//! model, cores); the rest is plain data.

use std::path::{Path, PathBuf};

/// How a run was made.
#[derive(Debug, Clone, PartialEq)]
pub struct RunMetadata {
    /// This loadgen's version (`CARGO_PKG_VERSION`).
    pub loadgen_version: &'static str,
    /// The scenario file run; `None` for the command-line default scenario.
    pub scenario_file: Option<PathBuf>,
    /// The factor every timed phase and fault time was multiplied by
    /// (`--duration-scale` or `LOADGEN_DURATION_SCALE`); `None` when not given.
    pub duration_scale: Option<f64>,
    /// The flags (and `LOADGEN_DURATION_SCALE`) that changed the scenario, as
    /// typed, in the order of `--help`: `("--rate", "1200000")`; empty when none.
    pub overrides: Vec<(String, String)>,
    /// The machine loadgen ran on.
    pub machine: Machine,
}

/// The machine a run was made on, as far as it can be read.
#[derive(Debug, Clone, PartialEq)]
pub struct Machine {
    /// Its hostname; `unknown` when it cannot be read.
    pub hostname: String,
    /// Its CPU model (`/proc/cpuinfo`'s `model name`); `unknown` elsewhere.
    pub cpu: String,
    /// The cores loadgen may use (`available_parallelism`); 0 when unknown.
    pub cores: usize,
    /// The operating system and architecture: `linux x86_64`.
    pub os: String,
}

impl RunMetadata {
    /// The metadata of a run of `scenario_file` at `duration_scale` on this machine.
    pub fn of_this_machine(scenario_file: Option<&Path>, duration_scale: Option<f64>) -> Self {
        RunMetadata {
            loadgen_version: env!("CARGO_PKG_VERSION"),
            scenario_file: scenario_file.map(Path::to_path_buf),
            duration_scale,
            overrides: Vec::new(),
            machine: Machine::this_one(),
        }
    }

    /// The same metadata, naming the flags that changed the scenario.
    pub fn with_overrides(mut self, overrides: Vec<(String, String)>) -> Self {
        self.overrides = overrides;
        self
    }

    /// The overriding flags as shown to people: `--rate 1200000, --duration-scale 0.1`;
    /// `None` when there are none.
    pub fn overrides_text(&self) -> Option<String> {
        if self.overrides.is_empty() {
            return None;
        }
        let list: Vec<String> = self
            .overrides
            .iter()
            .map(|(flag, value)| format!("{flag} {value}"))
            .collect();
        Some(list.join(", "))
    }

    /// The duration scale as shown to people: `0.5`, or `1 (not scaled)`.
    pub fn scale_text(&self) -> String {
        match self.duration_scale {
            Some(scale) => crate::format::number(scale),
            None => "1 (not scaled)".into(),
        }
    }

    /// The scenario file as shown to people, or `none (command-line scenario)`.
    pub fn scenario_file_text(&self) -> String {
        match &self.scenario_file {
            Some(path) => path.display().to_string(),
            None => "none (command-line scenario)".into(),
        }
    }
}

impl Machine {
    /// This machine, read now.
    pub fn this_one() -> Self {
        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .or_else(|_| std::fs::read_to_string("/etc/hostname"))
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "unknown".into());
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|text| cpu_model(&text))
            .unwrap_or_else(|| "unknown".into());
        Machine {
            hostname,
            cpu,
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
        }
    }

    /// `2 cores, Intel(R) Xeon(R) CPU @ 2.20GHz, linux x86_64` (hostname apart).
    pub fn describe(&self) -> String {
        let cores = if self.cores == 1 { "core" } else { "cores" };
        format!("{} {cores}, {}, {}", self.cores, self.cpu, self.os)
    }
}

/// The first `model name` (x86) or `Model` / `Hardware` (ARM) of `/proc/cpuinfo`.
fn cpu_model(cpuinfo: &str) -> Option<String> {
    ["model name", "Model", "Hardware"].iter().find_map(|key| {
        cpuinfo.lines().find_map(|line| {
            let (k, v) = line.split_once(':')?;
            (k.trim() == *key && !v.trim().is_empty()).then(|| v.trim().to_string())
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cpu_model_is_the_first_model_name() {
        let text = "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\n\n\
                    processor\t: 1\nmodel name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\n";
        assert_eq!(
            cpu_model(text).as_deref(),
            Some("Intel(R) Xeon(R) CPU @ 2.20GHz")
        );
        assert_eq!(
            cpu_model("processor : 0\nModel : Raspberry Pi 4\n").as_deref(),
            Some("Raspberry Pi 4")
        );
        assert_eq!(cpu_model("processor : 0\n"), None);
    }

    #[test]
    fn this_machine_has_a_name_cores_and_an_os() {
        let machine = Machine::this_one();
        assert!(!machine.hostname.is_empty());
        assert!(machine.cores >= 1);
        assert!(machine.describe().contains(std::env::consts::ARCH));
    }

    #[test]
    fn an_unscaled_run_from_the_command_line_says_so() {
        let meta = RunMetadata::of_this_machine(None, None);
        assert_eq!(meta.scale_text(), "1 (not scaled)");
        assert_eq!(meta.scenario_file_text(), "none (command-line scenario)");
        let scaled = RunMetadata::of_this_machine(Some(Path::new("s.toml")), Some(0.25));
        assert_eq!(scaled.scale_text(), "0.25");
        assert_eq!(scaled.scenario_file_text(), "s.toml");
        assert_eq!(scaled.loadgen_version, env!("CARGO_PKG_VERSION"));
    }
}
