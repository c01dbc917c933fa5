//! The command line: `--n`, `--workers` and `--sweep`, with the tutorial's values as
//! defaults; a bad value is a message and exit code 2, never a panic.

use std::ops::RangeInclusive;
use std::process;

use super::report::thousands;

/// The flags, with the tutorial's values as defaults.
pub struct Args {
    /// `--n`, if given: its default depends on `--sweep`.
    pub n: Option<u64>,
    pub workers: usize,
    pub sweep: bool,
}

const USAGE: &str =
    "usage: cargo run --release --example 09_comparison -- [--n N] [--workers W] [--sweep]
  --n N        how far each job counts (default 1,000,000, the tutorial's; at most 1,000,000,000)
  --workers W  how many jobs, and workers to run them (default 2; at most 64)
  --sweep      time n = 1,000 ... 100,000,000 (or up to --n) and show where parallel wins";

/// The program's flags. After `--help`, or a bad flag, it ends the program itself: with a
/// message and exit code 2 for a bad flag, as command-line tools do.
pub fn from_command_line() -> Args {
    let args = std::env::args().skip(1);
    if args.len() == 1 && matches!(std::env::args().nth(1).as_deref(), Some("--help" | "-h")) {
        println!("{USAGE}");
        process::exit(0);
    }
    parse_args(args).unwrap_or_else(|message| {
        eprintln!("error: {message}\n{USAGE}");
        process::exit(2)
    })
}

fn parse_args(mut words: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut args = Args {
        n: None,
        workers: 2,
        sweep: false,
    };
    while let Some(word) = words.next() {
        match word.as_str() {
            "--n" => args.n = Some(number(&word, words.next(), 1..=1_000_000_000)?),
            "--workers" => args.workers = number(&word, words.next(), 1..=64)? as usize,
            "--sweep" => args.sweep = true,
            _ => return Err(format!("unknown argument `{word}`")),
        }
    }
    Ok(args)
}

fn number(flag: &str, value: Option<String>, allowed: RangeInclusive<u64>) -> Result<u64, String> {
    let value = value.ok_or_else(|| format!("`{flag}` needs a value"))?;
    match value.replace('_', "").parse() {
        Ok(number) if allowed.contains(&number) => Ok(number),
        _ => Err(format!(
            "`{flag} {value}`: expected a whole number from {} to {}",
            thousands(*allowed.start()),
            thousands(*allowed.end())
        )),
    }
}
