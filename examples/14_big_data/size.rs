//! The size of the array: `--n N` numbers (default 1,000,000); a bad value is a
//! message and exit code 2, never a panic.

/// The `--n` flag's value, or the default. A bad flag ends the program with a message.
pub fn from_command_line() -> usize {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n = match args.as_slice() {
        [] => Some(1_000_000),
        [flag, n] if flag == "--n" => n.replace('_', "").parse().ok().filter(|n| *n >= 2),
        _ => None,
    };
    let Some(n @ ..=100_000_000) = n else {
        let given = args.join(" ");
        eprintln!("error: `{given}`: expected --n N, with N from 2 to 100,000,000");
        std::process::exit(2) // a bad flag: a message, no panic trace
    };
    n
}
