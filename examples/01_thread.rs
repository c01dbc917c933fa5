//! Start a thread named T1 (tutorial 二.1 创建线程). Being written.
fn main() {}
