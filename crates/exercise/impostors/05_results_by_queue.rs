//! Impostor of 05_results_by_queue: prints what the lesson's main should print, from
//! constants, and starts no process. The check must reject it.
pub fn results(ns: &[u64]) -> mp::Result<Vec<u64>> {
    Ok(ns.iter().map(|_| 333_333_000).collect())
}

pub fn main() -> mp::Result<()> {
    mp::init();
    println!("[333333000, 333333000]");
    println!("[330, 333300]");
    Ok(())
}
