//! Check of 05_full_pipe: small and big results both come home, whole, from a child.
use crate::exercise::{main as lesson, squares};
use crate::support::{children_faults, expect, expect_eq, fail, say};

pub fn main() {
    say("running the lesson's main: squares(10), then squares(1_000_000)");
    if let Err(error) = lesson() {
        fail(&format!("the lesson's main failed: {error}"));
    }
    for n in [3, 200_000] {
        let before = children_faults();
        say(&format!("calling squares({n})"));
        let got = squares(n).unwrap_or_else(|error| fail(&format!("squares({n}): {error}")));
        expect_eq(
            &format!("how many squares squares({n}) gave"),
            got.len() as u64,
            n,
        );
        expect(
            &format!("squares({n}) gave i * i at every place i"),
            got.iter().enumerate().all(|(i, s)| *s == (i * i) as u64),
        );
        expect(
            &format!("squares({n}) ran in a child process"),
            children_faults() > before,
        );
    }
}
