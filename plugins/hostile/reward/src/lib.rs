//! A deliberately hostile reward program, used only by the tests.
//!
//! The first value of the batch picks the misbehaviour (see [`Behaviour`]);
//! `0` behaves (scores the sum of each row), so tests can check that a fresh
//! instance of the same component works after a hostile call.

use derl_sdk::*;

/// What the program does when asked to score a batch whose first value is `code`.
#[derive(Debug)]
enum Behaviour {
    Sum,
    InfiniteLoop,
    MemoryBomb,
    Recursion,
    ReadEtcPasswd,
    ReadRelativePath,
    ReadEnvironment,
    OpenSocket,
    Panic,
    ReturnNan,
    WrongCount,
    FloodStdout,
    /// Not hostile: a bounded busy loop of `values[1]` million iterations,
    /// used by the benchmarks to measure fuel metering.
    Spin,
    /// Finite but extreme scores (`f64::MAX` and `-1e308`), which overflow
    /// group statistics.
    HugeScores,
}

impl Behaviour {
    fn from_code(code: f64) -> Behaviour {
        use Behaviour::*;
        const ALL: [Behaviour; 14] = [
            Sum,
            InfiniteLoop,
            MemoryBomb,
            Recursion,
            ReadEtcPasswd,
            ReadRelativePath,
            ReadEnvironment,
            OpenSocket,
            Panic,
            ReturnNan,
            WrongCount,
            FloodStdout,
            Spin,
            HugeScores,
        ];
        ALL.into_iter().nth(code as usize).unwrap_or(Sum)
    }
}

struct Hostile;

#[inline(never)]
#[allow(unconditional_recursion, reason = "unbounded recursion is the point")]
fn recurse(depth: u64, pad: &mut [u8; 256]) -> u64 {
    pad[(depth % 256) as usize] = depth as u8;
    recurse(depth + 1, pad) + u64::from(pad[0])
}

impl RewardProgram for Hostile {
    fn new() -> Self {
        Hostile
    }

    fn score(&mut self, stride: usize, values: &[f64]) -> Result<Vec<f64>, String> {
        let rows = values.chunks(stride.max(1));
        let sums: Vec<f64> = rows.map(|row| row.iter().sum()).collect();
        match Behaviour::from_code(values.first().copied().unwrap_or(0.0)) {
            Behaviour::Sum => Ok(sums),
            Behaviour::InfiniteLoop => {
                let mut x = 0u64;
                loop {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
            }
            Behaviour::MemoryBomb => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            Behaviour::Recursion => Ok(vec![recurse(0, &mut [0; 256]) as f64]),
            Behaviour::ReadEtcPasswd => std::fs::read_to_string("/etc/passwd")
                .map(|text| vec![text.len() as f64])
                .map_err(|e| format!("could not read /etc/passwd: {e}")),
            Behaviour::ReadRelativePath => std::fs::read_to_string("../Cargo.toml")
                .map(|text| vec![text.len() as f64])
                .map_err(|e| format!("could not read ../Cargo.toml: {e}")),
            Behaviour::ReadEnvironment => {
                let vars: Vec<String> = std::env::vars().map(|(k, _)| k).collect();
                let args: Vec<String> = std::env::args().collect();
                match std::env::var("HOME") {
                    Ok(home) => Ok(vec![home.len() as f64]),
                    Err(e) => Err(format!(
                        "HOME: {e}; {} variables, {} args",
                        vars.len(),
                        args.len()
                    )),
                }
            }
            Behaviour::OpenSocket => open_socket(),
            Behaviour::Panic => panic!("hostile reward panicked on purpose"),
            Behaviour::ReturnNan => Ok(sums.iter().map(|_| f64::NAN).collect()),
            Behaviour::WrongCount => Ok(sums.iter().chain([&0.0]).copied().collect()),
            Behaviour::Spin => {
                let iterations = values.get(1).copied().unwrap_or(0.0) as u64 * 1_000_000;
                let mut x = 0u64;
                for i in 0..iterations {
                    x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
                }
                Ok(sums.iter().map(|s| s + (x % 2) as f64).collect())
            }
            Behaviour::HugeScores => Ok(sums
                .iter()
                .enumerate()
                .map(|(i, _)| if i % 2 == 0 { f64::MAX } else { -1e308 })
                .collect()),
            Behaviour::FloodStdout => {
                let line = "x".repeat(1023);
                for _ in 0..8192 {
                    println!("{line}");
                }
                Ok(sums)
            }
        }
    }

    fn describe(&self) -> RewardInfo {
        RewardInfo {
            description: "hostile test program: the first value selects a misbehaviour".into(),
            min_stride: 1,
        }
    }
}

/// Tries to open a TCP connection through `wasi:sockets`.
fn open_socket() -> Result<Vec<f64>, String> {
    use std::net::{SocketAddr, TcpStream};
    let address: SocketAddr = "127.0.0.1:80".parse().unwrap();
    match TcpStream::connect_timeout(&address, std::time::Duration::from_millis(50)) {
        Ok(_) => Ok(vec![1.0]),
        Err(e) => Err(format!("could not connect to {address}: {e}")),
    }
}

register_reward!(Hostile);
