//! Solution of exercise 04_fn_not_closure: the target is a plain `fn`, and the greeting goes to
//! the child as one of its arguments, beside the queue.
use mp::{Process, Queue};

/// What a child reports: the greeting, its pid, its parent's pid.
pub type Report = (String, u32, u32);

/// Runs in each child: sends the greeting it was given, with who it is.
fn job((greeting, q): (String, Queue<Report>)) {
    let parent = std::os::unix::process::parent_id();
    q.put((greeting, std::process::id(), parent))
        .expect("the parent keeps the queue open");
}

/// Starts `children` processes and collects one report from each.
pub fn reports(greeting: &str, children: usize) -> mp::Result<Vec<Report>> {
    let q = Queue::new()?;
    let mut started = Vec::new();
    for _ in 0..children {
        let mut p = Process::new(job, (greeting.to_owned(), q.clone())); // args=(greeting, q)
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
