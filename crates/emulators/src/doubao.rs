//! Placeholder until this emulator lands.
