//! Fork and spawn side by side: what a child costs, what it inherits, threads at fork, and
//! `mp::init()` as `if __name__ == '__main__'` (beyond 三.1 创建进程).
//! Run: `cargo run --example 12_start_methods` (and again with `-- --without-init`, or with
//! `-- --parent-mb 400` to time the starts from a parent that holds 400 MB)
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

use mp::{Process, StartMethod, Value};

/// 1 when the program starts; `main` sets it to 2 before starting any child.
static SETTING: AtomicU32 = AtomicU32::new(1);

/// How many children each method starts for the timing.
const STARTS: u32 = 20;

/// The child sends back the setting it sees: only `main` prints.
fn report_setting(seen: Value<u32>) -> mp::Result<()> {
    seen.set(SETTING.load(Ordering::Relaxed))
}

/// Starts one child with `method`, waits for it, and returns the setting it saw.
fn child_sees(method: StartMethod) -> mp::Result<u32> {
    let seen = Value::new(0)?;
    let mut child = Process::new(report_setting, seen.clone()).start_method(method);
    child.start()?;
    assert!(child.join()?.success());
    seen.get()
}

/// What a forked child and a spawned child see.
fn children_see() -> mp::Result<(u32, u32)> {
    let forked = child_sees(StartMethod::Fork)?;
    let spawned = child_sees(StartMethod::Spawn)?;
    Ok((forked, spawned))
}

fn main() -> mp::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args == ["--without-init"] {
        without_init(); // only for this lesson: a real program starts with mp::init()
    }
    mp::init(); // Rust's `if __name__ == '__main__':`
    let parent_mb = parent_mb_from(&args);
    SETTING.store(2, Ordering::Relaxed);

    // New: memory the parent has written to, which a fork must map into the child too.
    let data = vec![1_u8; parent_mb << 20];
    if parent_mb > 0 {
        println!("the parent holds {parent_mb} MB of data");
    }
    println!("start + join, average of {STARTS} children:");
    for (name, method) in [("fork", StartMethod::Fork), ("spawn", StartMethod::Spawn)] {
        let start = Instant::now();
        for _ in 0..STARTS {
            child_sees(method)?;
        }
        let each = start.elapsed().as_secs_f64() * 1e3 / f64::from(STARTS);
        println!("  {name:>5}: {each:.2} ms");
    }

    drop(data);

    println!("SETTING starts as 1; main set it to 2 before starting the children:");
    let (forked, spawned) = children_see()?;
    assert_eq!((forked, spawned), (2, 1));
    println!("   fork: the child sees {forked} (a copy of the parent's memory)");
    println!("  spawn: the child sees {spawned} (the program started afresh)");

    // New: a second thread is alive while we fork. The crate warns on stderr.
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    let waiter = std::thread::spawn(move || stopped.recv());
    let (forked, spawned) = children_see()?;
    drop(stop);
    let _ = waiter.join();
    assert_eq!((forked, spawned), (2, 1));
    println!("with a second thread alive, both still work, but fork printed a warning:");
    println!("the child copies only the forking thread; spawn is the safe choice.");
    Ok(())
}

/// `--parent-mb N`: how many megabytes of data the parent holds while it times
/// the starts (default 0). Anything else ends the program with exit code 2.
fn parent_mb_from(args: &[String]) -> usize {
    let mb = match args {
        [] => Ok(0),
        [flag, n] if flag == "--parent-mb" => match n.parse() {
            Ok(n @ 0..=4096) => Ok(n),
            _ => Err(format!(
                "`--parent-mb {n}`: expected a number from 0 to 4096"
            )),
        },
        _ => Err(format!("unexpected arguments {args:?}")),
    };
    mb.unwrap_or_else(|message| {
        eprintln!("error: {message}");
        eprintln!(
            "usage: cargo run --example 12_start_methods -- [--without-init | --parent-mb N]"
        );
        std::process::exit(2)
    })
}

/// What `main` would do without `mp::init()`. A spawned child runs `main` from
/// the top, so it would start children of its own, and they theirs, forever.
/// The crate refuses to spawn instead. Fork needs no `init`: the child is a copy.
fn without_init() -> ! {
    let forked = child_sees(StartMethod::Fork).expect("fork needs no mp::init()");
    println!("without mp::init(): fork works, the child sees {forked}");
    let error = child_sees(StartMethod::Spawn).expect_err("spawn needs mp::init()");
    eprintln!("error: {error}");
    std::process::exit(1);
}
