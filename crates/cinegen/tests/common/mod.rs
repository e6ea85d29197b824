//! Running the `cinegen` binary as an operator would, with none of this shell's configuration.

use std::process::{Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_cinegen");

/// A command with a clean configuration environment.
pub fn cinegen(args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command.args(args);
    for (name, _) in std::env::vars() {
        if name.starts_with("CINEGEN_")
            || ["DATABASE_URL", "REDIS_URL", "JWT_SECRET", "ENCRYPTION_KEY"].contains(&name.as_str())
        {
            command.env_remove(name);
        }
    }
    command
}

#[allow(dead_code)] // not every test binary runs one-shot commands
pub fn run(command: &mut Command) -> Output {
    command.stdin(Stdio::null()).output().expect("cinegen runs")
}
