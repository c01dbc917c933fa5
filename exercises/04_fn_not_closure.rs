//! Exercise 04_fn_not_closure: the compiler teaches.
//! Lesson: notes/04_process.md. Check it: `cargo exercise 04_fn_not_closure`
//!
//! `reports` starts `children` processes; each puts on the queue the greeting, its own pid
//! and its parent's pid. It does not compile: read what the compiler says about the closure.
//! Make it compile, with every child still sending the greeting it was given.
//! (Keep each `pub fn`'s name and signature: the check calls them with other inputs.)
use mp::{Process, Queue};

/// What a child reports: the greeting, its pid, its parent's pid.
pub type Report = (String, u32, u32);

/// Starts `children` processes and collects one report from each.
pub fn reports(greeting: &str, children: usize) -> mp::Result<Vec<Report>> {
    let q = Queue::new()?;
    let mut started = Vec::new();
    for _ in 0..children {
        let job = |q: Queue<Report>| {
            let parent = std::os::unix::process::parent_id();
            q.put((greeting.to_owned(), std::process::id(), parent))
                .expect("the parent keeps the queue open");
        };
        let mut p = Process::new(job, q.clone());
        p.start()?;
        started.push(p);
    }
    let got = (0..children).map(|_| q.get()).collect::<mp::Result<_>>()?;
    for p in &mut started {
        p.join()?;
    }
    Ok(got)
}

pub fn main() -> mp::Result<()> {
    mp::init(); // if __name__ == '__main__':
    for (greeting, pid, parent) in reports("hello", 2)? {
        println!("{greeting} from pid {pid}, parent pid {parent}");
    }
    Ok(())
}
