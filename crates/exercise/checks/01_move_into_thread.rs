//! Check of 01_move_into_thread: the job runs on T1, for any label.
use crate::exercise::{main as lesson, start_job};
use crate::support::{expect_eq, within};

pub fn main() {
    lesson();
    // From a thread with another name: a job that does not run on a new thread says so.
    let on_checker = std::thread::Builder::new().name("checker".to_owned());
    let got = on_checker
        .spawn(|| start_job("job2".to_owned()))
        .unwrap()
        .join()
        .unwrap();
    expect_eq("start_job(\"job2\")", got.as_str(), "job2 ran on T1");
    let got = within("start_job(\"job 3\")", || start_job("job 3".to_owned()));
    expect_eq("start_job(\"job 3\")", got.as_str(), "job 3 ran on T1");
}
