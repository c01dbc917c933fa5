//! The command line: `--n`, `--kill-rank`, `--panic-rank`; a bad value is a message and exit
//! code 2, never a panic.

use std::ops::RangeInclusive;
use std::process;

/// The flags, with the tutorial's n as the default.
pub struct Args {
    pub n: u64,
    pub kill_rank: Option<i32>,
    pub panic_rank: Option<i32>,
}

const USAGE: &str = "usage: mpirun -n RANKS target/debug/examples/18_beyond_one_machine \
[--n N] [--kill-rank R | --panic-rank R]
  --n N           the job counts 0..N, split across the ranks (default 1000, the tutorial's)
  --kill-rank R   rank R is killed (SIGKILL) after its share, before the gather
  --panic-rank R  rank R panics after its share, before the gather";

/// The program's flags. A bad flag ends this rank with a message (printed by rank 0 only, as
/// every rank gets the same command line) and exit code 2; mpirun then ends the others.
pub fn from_command_line(rank: i32, size: i32) -> Args {
    parse(std::env::args().skip(1), size).unwrap_or_else(|message| {
        if rank == 0 {
            eprintln!("error: {message}\n{USAGE}");
        }
        process::exit(2)
    })
}

fn parse(mut words: impl Iterator<Item = String>, size: i32) -> Result<Args, String> {
    let mut args = Args {
        n: 1000,
        kill_rank: None,
        panic_rank: None,
    };
    while let Some(word) = words.next() {
        let mut value = |allowed| number(&word, words.next(), allowed);
        let a_rank = 0..=size as u64 - 1;
        match word.as_str() {
            "--n" => args.n = value(1..=1_000_000_000)?,
            "--kill-rank" => args.kill_rank = Some(value(a_rank)? as i32),
            "--panic-rank" => args.panic_rank = Some(value(a_rank)? as i32),
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
            allowed.start(),
            allowed.end()
        )),
    }
}
